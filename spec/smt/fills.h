// Tracked entries and the fills that inserted them: one instance per PSC level, per nested
// second-stage level, one IOTLB, one device-TLB, one PASID-cache and one context-cache target
// (the bound argued in encoding.h), each with its walk, the PASID-table entry the walk read
// (from memory, possibly torn, or a cached copy), and the page request of a freed PASID.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spec/smt/invalidations.h"
#include "spec/smt/memory_terms.h"

namespace nostale::smt {

class Fills {
 public:
  /// A page request of (dev, witness PASID) issued at t and not drained (free_pasid only).
  struct PageRequest {
    z3::expr on, dev;
    Time t;
  };

  Fills(Terms & terms, MemoryTerms & mem, Invalidations & inv);

  std::map<unsigned, Instance> psc;  // by level
  std::map<unsigned, Instance> npsc;  // second-stage entries of nested walks, by level
  std::optional<Instance> tlb, dtlb, pct;
  std::optional<Instance> cct;  // a context-cache entry as a target (Config::context_cache)
  std::optional<PageRequest> prq;

  /// Every tracked instance, in a fixed order.
  std::vector<Instance *> all();

 private:
  Instance new_instance(CacheKind k, unsigned level, const std::string & n);
  /// `tab`: the PASID table read (require_context; none: memory's context entry's).
  Attach read_entry(const Time & at, const z3::expr & w, Instance & I, const std::optional<z3::expr> & tab);
  /// Reading I's PASID-table entry from memory at `at` needs the device's context entry:
  /// memory's then, or a copy cached at ctx_t and not invalidated since (VTD-CACHE-1). The
  /// PASID table the walk reads is the one that entry points to (Terms::tab_on, VTD-CTX-1).
  std::optional<z3::expr> require_context(Instance & I, const Time & at);
  void resolve(Instance & I);
  /// The walk of I from its start down to level `stop`, with the start's conditions.
  Res walk(Instance & I, unsigned stop, const z3::expr & walking);
  void leaf_payload(Instance & I, const Res & res, const std::string & n);
  /// For an instance filled at time g: nested results go through the parent's second stage.
  Res nest_at_fill(Instance & I, const Res & s1);

  void build_psc();
  void build_npsc();
  void build_tlb();
  void build_dtlb();
  void build_pct();
  void build_cct();
  /// A PRI device bound to the PASID may issue a page request whenever the walker sees it
  /// bound; a wait with PD=1 drains every request issued before it (VTD-SEQ-9).
  void build_page_request();

  Terms & t;
  MemoryTerms & mem;
  Invalidations & inv;
  /// PSC-1: walks start from a cached paging-structure entry only of a level below this one.
  unsigned psc_start_below;
};

/// PSC-1: the lowest level l such that, in the encoding's window, a walk that starts from a
/// cached level->=l pointer gives what a walk from the root gives at the same time (levels + 1
/// if there is none). Exact where it holds: the tables of levels >= l only gain entries, every
/// pointer among them leads to a table, and one domain id and table type name one root.
unsigned psc_settled_level(const Terms & t);

}  // namespace nostale::smt
