// The line grammar of Linux ftrace text (the tracefs `trace` file and `trace-cmd report`), and
// the arguments of the intel_iommu cache-tag events (TRACE-2/3 of spec/docs/rules.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/model/format.h"

namespace nostale::importer {

/// One event line: `TASK-PID [(TGID)] [CPU] [FLAGS] SECONDS: EVENT: ARGS`.
struct Event {
  std::size_t line = 0;
  std::string task;  ///< "kworker/0:1-42": task and pid, the caller's identity
  unsigned cpu = 0;
  double ts = 0;
  std::string name;  ///< without the system prefix ("intel_iommu:", "iommu:")
  std::string args;
};

/// Parses an event line; false if the line is not one.
bool parse_event(const std::string & line, std::size_t n, Event & e);

std::vector<std::string> words(const std::string & s);

/// "key=value" of the event's arguments as a u64; fails the line (file:LINE) otherwise.
u64 field(const std::string & file, const Event & e, const std::string & key);

/// A cache tag as the cache_tag_* events print it: who (device, PASID) reaches which domain
/// id through which cache.
struct Tag {
  std::string iommu;
  std::uint16_t sid = 0;
  std::string type;  ///< iotlb, devtlb, nesting_iotlb, nesting_devtlb
  unsigned did = 0;
  u64 pasid = 0;
  long ref = 0;      ///< assign / unassign / flush_all: the users count as printed
};

/// cache_tag_assign / cache_tag_unassign / cache_tag_flush_all:
/// "dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1" (TRACE-2).
Tag parse_tag(const std::string & file, const Event & e);
/// cache_tag_flush_range / cache_tag_flush_range_np: "dmar0 0000:03:00.0[0] type iotlb did 2
/// [0x1000-0x2fff] addr 0x1000 pages 0x2 mask 0x1" (TRACE-3): the tag it flushed.
Tag parse_flush_range(const std::string & file, const Event & e);

}  // namespace nostale::importer
