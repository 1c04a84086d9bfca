// Recorded command streams in, checkable scenarios out (`nostale import`, and `check` on a
// trace file). Each importer reads one trace format (spec/docs/traces.md, rules TRACE-* of
// spec/docs/rules.md) into a vtd scenario whose "imported" block lists what the trace does not
// show and how it was filled in, the caveats of the source, and the trace line of every step.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nostale {

enum class TraceFormat {
  LinuxFtrace,  ///< tracefs `trace` / `trace-cmd report` text: intel_iommu:*, iommu:* (TRACE-1..6)
  QemuVtd,      ///< QEMU trace-event log of its intel_iommu model (TRACE-Q1, Q2)
  IommufdVtd,   ///< IOMMU_HWPT_INVALIDATE requests of a nested VT-d domain, as JSON
};

const char * format_name(TraceFormat f);

/// The format of a file by its content, or nullopt when it is a scenario (or nothing known).
/// A JSON object with a top-level "nostale_trace" key is an iommufd recording; other JSON is a
/// scenario; text with a `qi_submit:` / `cache_tag_` / `iommu:`-style event is ftrace, text
/// with `vtd_` events is QEMU's.
std::optional<TraceFormat> sniff_trace(const std::string & text);

/// The format of file `file`: its content's (sniff_trace), and a `.trace` file that shows none
/// (empty, comments only) is Linux ftrace, whose importer says what is missing.
std::optional<TraceFormat> trace_format(const std::string & file, const std::string & text);

/// Traces may be far larger than scenarios: the steps are what is bounded (kMaxSteps).
constexpr std::size_t kMaxTraceBytes = 64u << 20;

struct ImportOptions {
  /// Linux ftrace: two qi_submit events of one task further apart than this (microseconds)
  /// belong to two qi_submit_sync calls. 0: only another event of that task, or another CPU,
  /// separates calls (TRACE-1). A gap that splits one call adds a wait: it can hide a report.
  double batch_gap_us = 0;
  /// Linux ftrace: the domain id iommu:map/unmap are on (they name none, TRACE-5); needed when
  /// the cache tags name several domains, or none (kernels before v6.10 have no cache tags).
  std::optional<unsigned> domain;
  /// Linux ftrace: the remapping unit to read ("dmar0"); needed when the trace has several.
  std::string iommu;
  /// Whether a device whose ATS the trace does not show has a device TLB (the choice that can
  /// only add reports is yes).
  bool ats_unknown = true;
};

/// The scenario (as the loader reads it) a trace stands for. Throws LoadError with
/// "file:LINE: error: ..." for a line the importer cannot read, and names every line it read
/// but did not turn into a step in the assumptions, never dropping one silently.
nlohmann::ordered_json import_trace(const std::string & file, const std::string & text, TraceFormat format,
                                    const ImportOptions & opt = {});

}  // namespace nostale
