// Model reading: the counterexample a model of constraints() && violation(...) describes, i.e.
// the witness, the violating entry, and the hardware events (fills with where each walk started,
// completions, a page request) in the order of their moments.
#include <algorithm>
#include <map>

#include "spec/model/errors.h"
#include "spec/model/format.h"
#include "spec/smt/encoding_impl.h"

namespace nostale::smt {

namespace {

/// Reads one model through the encoding's parts.
struct Reader {
  const z3::model & m;
  Terms & t;
  Invalidations & inv;
  Fills & fills;

  u64 val(const z3::expr & e) { return m.eval(e, true).get_numeral_uint64(); }
  bool tru(const z3::expr & e) { return m.eval(e, true).is_true(); }

  Entry entry_of(Instance & I, u64 pasid, u64 addr);
  /// Marks the first target the model satisfies as the violation.
  void violating(Counterexample & cex, const std::vector<std::pair<Instance *, z3::expr>> & targets);
  /// Where the fill of I read its translation from, in words.
  std::string source(Instance & I);
  /// The fill of every active instance, with the private fills of the cached copies it used.
  void fill_events(Counterexample & cex);
  /// The completions before the check point.
  void completion_events(Counterexample & cex);
};

Entry Reader::entry_of(Instance & I, u64 pasid, u64 addr)
{
  Entry e;
  e.kind = I.kind;
  e.pasid = pasid;
  if (I.kind != CacheKind::DevTlb) e.pgtt = static_cast<unsigned>(val(I.pgtt));
  if (tru(inv.untagged(I))) e.pasid = kNoPasid;
  switch (I.kind) {
    case CacheKind::ContextCache:
      e.dev = static_cast<int>(val(I.w));
      e.negative = tru(I.neg);
      e.pasid = 0;
      e.pgtt = kPgttNone;
      if (I.ctx_tab && !e.negative) e.table = static_cast<unsigned>(val(*I.ctx_tab));
      return e;
    case CacheKind::PasidCache:
      e.dev = static_cast<int>(val(I.w));
      e.did = val(I.did);
      e.root = val(I.root);
      e.parent = val(I.s2);
      e.negative = tru(I.neg);
      e.ssade = tru(I.ssade);
      e.sre = tru(I.sre);
      break;
    case CacheKind::Psc:
      e.did = val(I.did);
      e.level = I.level;
      e.wild = tru(I.wild);
      if (!e.wild) e.ptr = val(I.ptr);
      if (!e.wild && I.next) e.next = static_cast<unsigned>(val(*I.next));
      if (I.gpa) {
        e.gpa = true;
        e.vpn = val(t.gq) >> t.geo.shift(e.level);
        return e;
      }
      break;
    case CacheKind::Iotlb:
    case CacheKind::DevTlb:
      if (I.kind == CacheKind::Iotlb) e.did = val(I.did);
      else e.dev = static_cast<int>(val(I.w));
      e.level = static_cast<unsigned>(val(I.lvl));
      e.wild = tru(I.wild);
      e.negative = !e.wild && tru(I.neg);
      e.ssade = tru(I.ssade);
      if (!e.wild && !e.negative) {
        e.frame = val(I.frame);
        e.perm = static_cast<unsigned>(val(I.perm));
      }
      break;
  }
  if (e.kind != CacheKind::PasidCache) e.vpn = addr >> t.geo.shift(e.level);
  return e;
}

void Reader::violating(Counterexample & cex, const std::vector<std::pair<Instance *, z3::expr>> & targets)
{
  bool found = false;
  for (auto & [I, cond] : targets) {
    if (!tru(cond)) continue;
    found = true;
    if (!I && cex.property == "no-reuse-while-cached") {
      cex.page_request = true;
      cex.entry.dev = static_cast<int>(val(fills.prq->dev));
      cex.entry.pasid = cex.pasid;
      HwEvent e;
      e.kind = HwEvent::PageRequest;
      e.gap = val(fills.prq->t.g);
      e.pos = val(fills.prq->t.pos);
      e.walker = cex.entry.dev;
      e.entry = cex.entry;
      cex.events.push_back(e);
    } else if (!I && cex.property == "no-stale") {
      cex.walker_view = true;  // the only entry-less no-stale target (Judgement::stale)
    } else if (!I) {
      cex.from_memory = true;
    } else {
      cex.entry = entry_of(*I, cex.pasid, cex.addr);
    }
    break;
  }
  NOSTALE_CHECK(found, "model satisfies no target of the violation");
}

std::string Reader::source(Instance & I)
{
  std::string s = tru(I.pc_use) ? "cached " + t.entry_word : t.entry_word + " in memory";
  if (tru(I.torn)) s += ", read torn (half old, half new)";
  if (I.kind == CacheKind::DevTlb && tru(I.from_tlb)) return std::string("ATS request answered from the IOTLB");
  u64 st = val(I.start);
  if (val(I.pgtt) == kPgttPassThrough) return "the " + s + ": pass-through, no table walk";
  std::string s2 = I.s2start && val(*I.s2start) != 0
                       ? "; second stage from the cached level-" + std::to_string(val(*I.s2start)) + " pointer"
                       : std::string();
  if (I.gpa)
    return "second-stage walk of guest-physical " + hex(val(t.gq)) + " from the nesting parent's root, " + s;
  return "walk from the " + s + (st ? ", then the cached level-" + std::to_string(st) + " entry" : std::string(", root table")) + s2;
}

void Reader::fill_events(Counterexample & cex)
{
  const std::string & word = t.entry_word;
  for (Instance * I : fills.all()) {
    if (!tru(I->active)) continue;
    HwEvent e;
    e.kind = HwEvent::Fill;
    e.gap = val(I->t.g);
    e.pos = val(I->t.pos);
    e.entry = entry_of(*I, cex.pasid, cex.addr);
    e.walker = static_cast<int>(val(I->w));
    e.walker_pasid = I->walk_pasid ? val(*I->walk_pasid) : cex.pasid;
    e.torn = tru(I->torn) && !(I->kind != CacheKind::PasidCache && tru(I->pc_use));
    if (I->kind == CacheKind::ContextCache) {
      e.source = e.entry.negative ? "context entry in memory, not present" : "context entry in memory";
      cex.events.push_back(e);
      continue;
    }
    // A private fill by the same walker at `at` (a cached copy the walk used).
    auto private_fill = [&](const Time & at, CacheKind k) {
      HwEvent x;
      x.kind = HwEvent::Fill;
      x.gap = val(at.g);
      x.pos = val(at.pos);
      x.entry.kind = k;
      x.entry.dev = e.walker;
      x.walker = e.walker;
      x.walker_pasid = e.walker_pasid;
      return x;
    };
    if (t.ctx_on && tru(I->ctx_use)) {
      // The PASID table was reached through a context entry cached earlier.
      HwEvent x = private_fill(I->ctx_t, CacheKind::ContextCache);
      if (I->ctx_tab) x.entry.table = static_cast<unsigned>(val(*I->ctx_tab));
      x.source = "context entry in memory";
      cex.events.push_back(x);
    }
    e.source = I->kind == CacheKind::PasidCache
                   ? (tru(I->torn) ? word + " in memory, read torn (half old, half new)" : word + " in memory")
                   : source(*I);
    // Through a cached context entry that points to another PASID table (VTD-CTX-1).
    if (I->ctx_tab && tru(I->ctx_use))
      e.source += ", in PASID table " + t.cfg.pasid_tables.at(val(*I->ctx_tab)) + " (through a cached context entry)";
    if (I->kind != CacheKind::PasidCache) {
      // The same facts as the source text, for the judgement's account (spec/interp/survival.h).
      e.from_iotlb = I->kind == CacheKind::DevTlb && tru(I->from_tlb);
      bool cached_pointer = val(I->pgtt) != kPgttPassThrough && !I->gpa &&
                            (val(I->start) != 0 || (I->s2start && val(*I->s2start) != 0));
      e.from_cache = e.from_iotlb || tru(I->pc_use) || cached_pointer;
    }
    cex.events.push_back(e);
    if (I->kind != CacheKind::PasidCache && tru(I->pc_use)) {
      HwEvent p = private_fill(I->pc_t, CacheKind::PasidCache);
      p.entry.pasid = e.walker_pasid;
      p.entry.did = val(I->did);
      p.entry.root = val(I->root);
      p.entry.pgtt = static_cast<unsigned>(val(I->pgtt));
      p.entry.parent = val(I->s2);
      p.entry.ssade = tru(I->ssade);
      p.entry.sre = tru(I->sre);
      p.torn = tru(I->torn);
      p.source = tru(I->torn) ? word + " in memory, read torn (half old, half new)" : word + " in memory";
      cex.events.push_back(p);
    }
  }
}

void Reader::completion_events(Counterexample & cex)
{
  for (auto & j : inv.invs) {
    if (!tru(j.comp) || val(j.c.g) > t.s) continue;
    HwEvent e;
    e.kind = HwEvent::Complete;
    e.gap = val(j.c.g);
    e.pos = val(j.c.pos);
    e.inv = j.index;
    cex.events.push_back(e);
  }
  // CUT-1: the invalidations waited for before the cut are not in the encoding; each completes
  // at its wait, in submission order (before any fill, which all come after the cut).
  std::map<std::size_t, u64> at_wait;
  for (std::size_t j = 0; j < t.tl.invs.size(); ++j) {
    const Invalidation & iv = t.tl.invs[j];
    if (iv.step >= t.s || !(t.lo > 0 && iv.sync && *iv.sync < t.lo)) continue;
    HwEvent e;
    e.kind = HwEvent::Complete;
    e.gap = *iv.sync;
    e.pos = ++at_wait[*iv.sync];
    e.inv = j;
    cex.events.push_back(e);
  }
}

}  // namespace

Counterexample Encoding::extract(const z3::model & m, const std::string & property,
                                 const std::string & severity)
{
  Impl & d = *impl_;
  Reader r{m, d.t, d.inv, d.fills};
  Counterexample cex;
  cex.check = d.t.ci;
  cex.property = property;
  cex.severity = property == "no-stale" ? severity : "";
  cex.device = static_cast<int>(r.val(d.t.wd));
  cex.pasid = r.val(d.t.wp);
  cex.addr = r.val(d.t.wa);

  r.violating(cex, d.judge.targets(property, severity));
  r.fill_events(cex);
  r.completion_events(cex);
  std::stable_sort(cex.events.begin(), cex.events.end(), [](const HwEvent & a, const HwEvent & b) {
    if (a.gap != b.gap) return a.gap < b.gap;
    if (a.pos != b.pos) return a.pos < b.pos;
    if (a.kind != b.kind) return a.kind == HwEvent::Complete;
    return a.inv < b.inv;
  });
  // The rule is the profile's to name, from why the entry survived (Profile::rule): the
  // encoding only finds the trace.
  return cex;
}

z3::expr Encoding::same_violation(const z3::model & m, const std::string & property,
                                  const std::string & severity)
{
  Impl & d = *impl_;
  Terms & t = d.t;
  Reader r{m, t, d.inv, d.fills};
  auto targets = d.judge.targets(property, severity);
  // The target extract() reports: the first one the model satisfies (Reader::violating).
  auto hit = std::find_if(targets.begin(), targets.end(), [&](auto & p) { return r.tru(p.second); });
  NOSTALE_CHECK(hit != targets.end(), "model satisfies no target of the violation");
  Instance * I = hit->first;
  // Any target of the same instance (or the same memory / page-request target) counts.
  z3::expr_vector conds(t.c);
  for (auto & [J, cond] : targets)
    if (J == I) conds.push_back(cond);
  z3::expr same = z3::mk_or(conds);
  auto keep = [&](const z3::expr & e) { same = same && e == m.eval(e, true); };
  if (!I) {
    // Memory itself reaching a freed frame is one violation; a page request is one per device
    // and PASID.
    if (property == "no-reuse-while-cached" && d.fills.prq) {
      keep(d.fills.prq->dev);
      keep(t.wp);
    }
    return same;
  }
  z3::expr untagged = d.inv.untagged(*I);
  keep(untagged);
  if (!r.tru(untagged) && I->kind != CacheKind::ContextCache) keep(t.wp);
  switch (I->kind) {
    case CacheKind::ContextCache:
      keep(I->w);
      keep(I->neg);
      if (I->ctx_tab) keep(*I->ctx_tab);
      break;
    case CacheKind::PasidCache: keep(I->w); keep(I->did); keep(I->neg); break;
    case CacheKind::Psc: keep(I->did); keep(I->wild); break;
    case CacheKind::Iotlb: keep(I->did); keep(I->lvl); keep(I->wild); keep(I->neg); break;
    case CacheKind::DevTlb: keep(I->w); keep(I->lvl); keep(I->wild); keep(I->neg); keep(I->from_tlb); break;
  }
  return same;
}

}  // namespace nostale::smt
