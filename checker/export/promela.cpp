#include "checker/export/promela.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "spec/interp/cache.h"
#include "spec/interp/explorer.h"
#include "spec/model/errors.h"
#include "spec/model/properties.h"

namespace nostale {

namespace {

/// Cache bits per Promela int (bit 31 stays clear: no sign games in pan's C).
constexpr unsigned kBitsPerWord = 31;

/// A conjunction of cached entries (indices into the universe); empty: true.
using Term = std::vector<std::size_t>;

/// A disjunction of terms, kept small: a term implied by a shorter one is dropped.
struct Formula {
  std::set<Term> terms;
  void add(Term t)
  {
    std::sort(t.begin(), t.end());
    terms.insert(std::move(t));
  }
  bool empty() const { return terms.empty(); }
  void simplify()
  {
    if (terms.count(Term{})) {
      terms = {Term{}};
      return;
    }
    for (auto it = terms.begin(); it != terms.end();) {
      bool implied = false;
      if (it->size() > 1)
        for (std::size_t i : *it) implied |= terms.count(Term{i}) > 0;
      it = implied ? terms.erase(it) : std::next(it);
    }
  }
};

std::string bit_of(const char * array, std::size_t i)
{
  return std::string(array) + "[" + std::to_string(i / kBitsPerWord) + "]";
}
unsigned long mask_of(std::size_t i) { return 1ul << (i % kBitsPerWord); }

/// `(c[w] & m) != 0`: entry i is cached (or invalidation i pending, with "pend").
std::string is_set(const char * array, std::size_t i)
{
  return "((" + bit_of(array, i) + " & " + std::to_string(mask_of(i)) + ") != 0)";
}
std::string is_clear(const char * array, std::size_t i)
{
  return "((" + bit_of(array, i) + " & " + std::to_string(mask_of(i)) + ") == 0)";
}
std::string set_bit(const char * array, std::size_t i)
{
  return bit_of(array, i) + " = " + bit_of(array, i) + " | " + std::to_string(mask_of(i));
}
std::string clear_bit(const char * array, std::size_t i)
{
  return bit_of(array, i) + " = " + bit_of(array, i) + " & ~" + std::to_string(mask_of(i));
}

std::string render(const Formula & f)
{
  if (f.terms.count(Term{})) return "1";
  std::string s;
  for (const Term & t : f.terms) {
    if (!s.empty()) s += "\n        || ";
    std::string conj;
    for (std::size_t i : t) conj += (conj.empty() ? "" : " && ") + is_set("c", i);
    s += t.size() > 1 ? "(" + conj + ")" : conj;
  }
  return s;
}

/// Text safe inside a Promela printf string and a C comment.
std::string quoted(std::string s)
{
  for (char & ch : s)
    if (ch == '"' || ch == '%' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20 || ch == '*') ch = '\'';
  return s;
}

std::string var_name(const std::string & prefix, const Query & q)
{
  std::string s = prefix + "_" + q.property + (*q.severity ? std::string("_") + q.severity : "");
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

class Exporter {
 public:
  Exporter(const Scenario & sc, const Timeline & tl, const PromelaOptions & opt)
      : opt_(opt), sc_(sc), tl_(tl), cfg_(sc.config), g_(sc.config.geo), pasids_(pasids_to_enumerate(sc)),
        pages_(u64{1} << (g_.levels * g_.level_bits))
  {
  }

  std::string run()
  {
    universe();
    std::ostringstream o;
    header(o);
    declarations(o);
    o << "active proctype iommu()\n{\n";
    if (opt_.slice)
      o << "  /* the witness page, chosen first: only entries covering it are ever filled */\n"
        << "  select(wp : 0 .. " << pages_ - 1 << ");\n";
    o << "  do\n";
    driver(o);
    hardware(o);
    o << "  od\n}\n";
    return o.str();
  }

 private:
  /// Every entry any schedule can cache: the caches saturated gap by gap with no completion.
  /// Fills are monotone in the cache and completions only remove, so any reachable cache is a
  /// subset of it.
  void universe()
  {
    std::set<Entry> cache;
    std::vector<std::set<Entry>> at(tl_.n + 1);
    for (std::size_t g = 0; g <= tl_.n; ++g) {
      if (g > 0 && tl_.walk_version[g] == tl_.walk_version[g - 1]) {
        at[g] = at[g - 1];
        continue;
      }
      for (bool changed = true; changed;) {
        changed = false;
        for (int d = 0; d < static_cast<int>(cfg_.devices.size()); ++d)
          for (u64 p : pasids_)
            for (u64 pg = 0; pg < pages_; ++pg)
              for (const Entry & e : fillable_for(cfg_, tl_.walk[g], cache, d, p, pg << g_.page_shift))
                changed |= cache.insert(e).second;
        if (cache.size() > kPromelaMaxEntries)
          throw ScenarioError("/", "more than " + std::to_string(kPromelaMaxEntries) +
                                       " cache entries can be filled: too large for the Promela export");
      }
      at[g] = cache;
    }
    ents_.assign(cache.begin(), cache.end());
    for (const std::set<Entry> & a : at) {
      possible_.emplace_back(ents_.size(), false);
      for (std::size_t i = 0; i < ents_.size(); ++i) possible_.back()[i] = a.count(ents_[i]) > 0;
    }
    for (std::size_t i = 0; i < ents_.size(); ++i) {
      const Entry & e = ents_[i];
      index_[e] = i;
      if (e.kind == CacheKind::PasidCache) records_[{e.dev, e.pasid}].push_back(i);
      if (e.kind != CacheKind::PasidCache && e.kind != CacheKind::ContextCache && !e.gpa)
        by_page_[{e.level, e.vpn}].push_back(i);
    }
  }

  /// Universe entries a lookup or walk by (d, pasid) for `addr` may touch: its cached PASID
  /// entries, and IOTLB / paging-structure / device-TLB entries covering `addr`.
  /// Only entries that can be cached during gap `g` (in its saturated cache) count.
  std::vector<std::size_t> covering(std::size_t g, u64 addr) const
  {
    std::vector<std::size_t> out;
    for (unsigned l = 1; l <= g_.levels; ++l) {
      auto it = by_page_.find({l, addr >> g_.shift(l)});
      if (it != by_page_.end())
        for (std::size_t i : it->second)
          if (possible_[g][i]) out.push_back(i);
    }
    return out;
  }
  std::vector<std::size_t> records(std::size_t g, int d, u64 pasid) const
  {
    std::vector<std::size_t> out;
    auto it = records_.find({d, pasid});
    if (it != records_.end())
      for (std::size_t i : it->second)
        if (possible_[g][i]) out.push_back(i);
    return out;
  }

  std::set<Entry> with(const Term & t) const
  {
    std::set<Entry> s;
    for (std::size_t i : t) s.insert(ents_[i]);
    return s;
  }

  /// Fill conditions during gaps with memory `mem`: entry i may be inserted when one of its
  /// terms is cached. A walk uses at most one cached PASID entry and one cached
  /// paging-structure or IOTLB entry (semantics.md), so every derivation is one of these terms.
  std::vector<Formula> fills(std::size_t gap) const
  {
    const Memory & mem = tl_.walk[gap];
    std::vector<Formula> f(ents_.size());
    for (int d = 0; d < static_cast<int>(cfg_.devices.size()); ++d)
      for (u64 p : pasids_)
        for (u64 pg = 0; pg < pages_; ++pg) {
          const u64 addr = pg << g_.page_shift;
          std::vector<Term> terms = {Term{}};
          std::vector<std::size_t> ys;
          const std::vector<std::size_t> xs = records(gap, d, p);
          for (std::size_t y : covering(gap, addr))
            if (ents_[y].kind == CacheKind::Psc || ents_[y].kind == CacheKind::Iotlb) ys.push_back(y);
          for (std::size_t x : xs) terms.push_back({x});
          for (std::size_t y : ys) terms.push_back({y});
          for (std::size_t x : xs)
            for (std::size_t y : ys)
              if (ents_[y].did == ents_[x].did) terms.push_back({x, y});
          for (const Term & t : terms)
            for (const Entry & e : fillable_for(cfg_, mem, with(t), d, p, addr)) {
              auto it = index_.find(e);
              NOSTALE_CHECK(it != index_.end(), "a fillable entry outside the saturated universe");
              if (std::find(t.begin(), t.end(), it->second) == t.end()) f[it->second].add(t);
            }
        }
    for (Formula & x : f) x.simplify();
    return f;
  }

  /// Per query (kQueries order): the caches that violate it at check point `cp`, as terms.
  std::vector<Formula> judgement(const CheckPoint & cp) const
  {
    std::vector<Formula> q(kQueryCount);
    const Memory & mem = tl_.mem_at_check(cp);
    const std::size_t gap = cp.step;  // judged with the cache of the gap before its step
    auto judge = [&](int d, u64 p, u64 addr, const Term & t) {
      for (const Violation & v : evaluate(cfg_, mem, with(t), cp, d, p, addr))
        if (unsigned b = query_bit(v.property, v.severity); b < kQueryCount) q[b].add(t);
    };
    auto witness = [&](int d, u64 p, u64 addr) {
      judge(d, p, addr, {});
      const std::vector<std::size_t> xs = records(gap, d, p);
      std::vector<std::size_t> hit = xs;
      for (std::size_t e : covering(gap, addr)) {
        const Entry & x = ents_[e];
        if (x.kind != CacheKind::DevTlb || x.dev == d) hit.push_back(e);
      }
      for (std::size_t e : hit) judge(d, p, addr, {e});
      // A cached PASID entry is a route to its domain id: entries of that id are hit through it.
      for (std::size_t x : xs)
        for (std::size_t e : covering(gap, addr))
          if ((ents_[e].kind == CacheKind::Psc || ents_[e].kind == CacheKind::Iotlb) && ents_[e].did == ents_[x].did)
            judge(d, p, addr, {x, e});
    };
    if (cp.dma) {
      witness(cp.device, cp.pasid, cp.addr);
    } else {
      for (int d = 0; d < static_cast<int>(cfg_.devices.size()); ++d)
        for (u64 p : pasids_)
          for (u64 pg = 0; pg < pages_; ++pg) witness(d, p, pg << g_.page_shift);
    }
    // no-reuse-while-cached names entries whatever the witness.
    for (std::size_t e = 0; e < ents_.size(); ++e) {
      if (!possible_[gap][e]) continue;
      for (const Violation & v : evaluate_reuse({ents_[e]}, cp))
        if (unsigned b = query_bit(v.property, v.severity); b < kQueryCount) q[b].add({e});
    }
    for (Formula & f : q) f.simplify();
    return q;
  }

  void header(std::ostringstream & o) const
  {
    o << "/* Promela model of " << quoted(sc_.file) << " (nostale export --promela)\n"
      << " * " << quoted(sc_.name) << "\n"
      << " * geometry: " << g_.levels << " levels x " << g_.level_bits << " bits (" << pages_
      << " pages); completion " << (cfg_.completion == Completion::InOrder ? "in-order" : "any-order") << "; "
      << ents_.size() << " cache entries; " << tl_.invs.size() << " invalidations; " << tl_.checks.size()
      << " check points\n"
      << " * Check: spin -a model.pml && gcc -O2 -DBFS -DSAFETY -DMEMLIM=4096 -DVECTORSZ=4096 -o pan pan.c && ./pan\n"
      << " *   \"assertion violated !(stepK_PROPERTY)\": a violation of PROPERTY at check point step K;\n"
      << " *   errors: 0 with no memory or depth bound hit: safe. spin -t -p model.pml replays the trail.\n"
      << " *\n"
      << " * Same semantics as nostale's interpreter (spec/docs/semantics.md): the driver steps run in order\n"
      << " * and memory in each gap is the constant snapshot nostale computed (spec/model/timeline.h);\n"
      << " * between steps every hardware action is a nondeterministic choice: fill a cache entry from a\n"
      << " * walk (from memory's or a cached PASID entry, from a cached paging-structure entry), fill the\n"
      << " * device TLB from a walk or the IOTLB (ATS), evict an entry, complete a pending invalidation\n"
      << " * (any-order, or in-order as configured; a sync waits for the invalidations before it).\n"
      << " * Which entry each fill may insert, which entries a completion removes and which cached\n"
      << " * entries violate a property were computed by the interpreter (fillable_for, matches,\n"
      << " * evaluate) and are emitted as constant tables: this model checks the schedules, not the walks.\n"
      << " *\n"
      << " * Left out (the export refuses scenarios that need them): other profiles than generic,\n"
      << " * geometries over 2^" << kPromelaMaxPageBits << " pages, non-coherent walkers and clflush,\n"
      << " * context entries, negative caching, PRI page requests, nested and pass-through entries,\n"
      << " * torn entry writes, dirty tracking, fences and drains.\n"
      << " * Bounded as nostale's explicit engine is: witness PASIDs are those the scenario names plus\n"
      << " * one it does not (all of them when pasid_bits <= 4); the cache entries are those reachable\n"
      << " * when nothing is ever invalidated (a superset of any reachable cache).\n"
      << (opt_.slice ? " * Sliced by witness page (--slice): the page is chosen first and only cache entries covering\n"
                       " * it are filled; the branches together reach the violations of the unsliced model.\n"
                     : "")
      << " * Not modelled as nostale reports: BFS finds the shallowest violation, which may be at a\n"
      << " * later check point than nostale's first one; traces are not shrunk or explained.\n"
      << " */\n\n";
    o << "/* Cache entries: entry i is bit i%" << kBitsPerWord << " of c[i/" << kBitsPerWord << "]\n";
    for (std::size_t i = 0; i < ents_.size(); ++i) o << " *  e" << i << ": " << quoted(describe(cfg_, ents_[i])) << "\n";
    o << " * Invalidations: invalidation j is bit j%" << kBitsPerWord << " of pend[j/" << kBitsPerWord
      << "] while pending\n";
    for (std::size_t j = 0; j < tl_.invs.size(); ++j)
      o << " *  inv" << j << ": step " << tl_.invs[j].step << " "
        << quoted(sc_.steps[tl_.invs[j].step].text) << "\n";
    o << " */\n\n";
  }

  void declarations(std::ostringstream & o)
  {
    const std::size_t cw = std::max<std::size_t>(1, (ents_.size() + kBitsPerWord - 1) / kBitsPerWord);
    const std::size_t pw = std::max<std::size_t>(1, (tl_.invs.size() + kBitsPerWord - 1) / kBitsPerWord);
    o << "int c[" << cw << "];     /* cached entries */\n";
    o << "int pend[" << pw << "];  /* submitted, not yet completed invalidations */\n";
    o << (tl_.n < 250 ? "byte" : "short") << " g;        /* the next driver step (gap g: before step g) */\n";
    if (opt_.slice) o << (pages_ <= 256 ? "byte" : "short") << " wp;       /* the witness page (sliced model) */\n";
    for (std::size_t ci = 0; ci < tl_.checks.size(); ++ci) {
      checks_.push_back(judgement(tl_.checks[ci]));
      const std::string prefix =
          tl_.checks[ci].step == tl_.n ? std::string("end") : "step" + std::to_string(tl_.checks[ci].step);
      for (unsigned q = 0; q < kQueryCount; ++q)
        if (!checks_.back()[q].empty()) o << "bit " << var_name(prefix, kQueries[q]) << ";\n";
    }
    o << "\n";
  }

  /// The assertions of check point ci (the properties in report order).
  void asserts(std::ostringstream & o, std::size_t ci) const
  {
    const CheckPoint & cp = tl_.checks[ci];
    const std::string prefix = cp.step == tl_.n ? std::string("end") : "step" + std::to_string(cp.step);
    for (unsigned q = 0; q < kQueryCount; ++q) {
      const Formula & f = checks_[ci][q];
      if (f.empty()) continue;
      const std::string v = var_name(prefix, kQueries[q]);
      // Set, asserted and cleared in one d_step: every stored state holds 0 (pan's BFS refuses
      // hidden variables, and the name makes spin's report say which property failed where).
      o << "      " << v << " = (" << render(f) << ");\n      assert(!" << v << ");\n      " << v << " = 0;\n";
    }
  }

  void driver(std::ostringstream & o) const
  {
    o << "  /* driver steps, in order */\n";
    std::size_t ci = 0;
    for (std::size_t k = 0; k < tl_.n; ++k) {
      const Step & s = sc_.steps[k];
      std::string guard = "g == " + std::to_string(k);
      if (s.op == Op::Sync)
        for (std::size_t j = 0; j < tl_.invs.size(); ++j)
          if (tl_.invs[j].sync == k) guard += " && " + is_clear("pend", j);
      o << "  :: d_step { " << guard << " ->\n";
      o << "      printf(\"step " << k << ": " << quoted(s.text) << "\\n\");\n";
      while (ci < tl_.checks.size() && tl_.checks[ci].step == k) asserts(o, ci++);
      if (s.op == Op::Invalidate)
        for (std::size_t j = 0; j < tl_.invs.size(); ++j)
          if (tl_.invs[j].step == k) o << "      " << set_bit("pend", j) << "; /* submit inv" << j << " */\n";
      o << "      g = " << k + 1 << " }\n";
    }
    o << "  :: d_step { g == " << tl_.n << " ->\n      printf(\"end\\n\");\n";
    while (ci < tl_.checks.size()) asserts(o, ci++);
    o << "      skip }; break  /* no hardware action after the end */\n";
  }

  void hardware(std::ostringstream & o) const
  {
    // Fill conditions per run of gaps that share one memory snapshot.
    std::vector<std::vector<std::string>> cond(ents_.size());
    for (std::size_t a = 0; a <= tl_.n;) {
      std::size_t b = a;
      while (b + 1 <= tl_.n && tl_.walk_version[b + 1] == tl_.walk_version[a]) ++b;
      const std::vector<Formula> f = fills(a);
      const std::string gaps = a == b ? "g == " + std::to_string(a)
                                      : "g >= " + std::to_string(a) + " && g <= " + std::to_string(b);
      for (std::size_t i = 0; i < ents_.size(); ++i)
        if (!f[i].empty())
          cond[i].push_back(f[i].terms.count(Term{}) ? "(" + gaps + ")" : "(" + gaps + " && (" + render(f[i]) + "))");
      a = b + 1;
    }
    o << "  /* hardware: fill, evict */\n";
    for (std::size_t i = 0; i < ents_.size(); ++i) {
      if (cond[i].empty()) continue;
      std::string any;
      for (const std::string & c : cond[i]) any += (any.empty() ? "" : "\n        || ") + c;
      o << "  :: d_step { " << is_clear("c", i) << slice_guard(ents_[i]) << " && (" << any << ") ->\n      "
        << set_bit("c", i)
        << "; printf(\"hw fill e" << i << "\\n\") }\n";
      o << "  :: d_step { " << is_set("c", i) << " -> " << clear_bit("c", i) << "; printf(\"hw evict e" << i
        << "\\n\") }\n";
    }
    o << "  /* hardware: complete a pending invalidation */\n";
    for (std::size_t j = 0; j < tl_.invs.size(); ++j) {
      std::string guard = is_set("pend", j);
      for (std::size_t i = 0; i < j; ++i)
        if (ordered_before(cfg_, tl_.invs[i], tl_.invs[j])) guard += " && " + is_clear("pend", i);
      // Entries it removes, as one mask per word.
      std::map<std::size_t, unsigned long> masks;
      for (std::size_t i = 0; i < ents_.size(); ++i)
        if (matches(g_, tl_.invs[j].pat, ents_[i])) masks[i / kBitsPerWord] |= mask_of(i);
      o << "  :: d_step { " << guard << " ->\n      " << clear_bit("pend", j) << ";\n";
      for (auto [w, m] : masks) o << "      c[" << w << "] = c[" << w << "] & ~" << m << ";\n";
      o << "      printf(\"hw complete inv" << j << "\\n\") }\n";
    }
  }

  /// Sliced: entry e is filled only when it covers the witness page wp. Entries covering one page
  /// are closed under derivation (a walk for it starts from entries covering it), and every
  /// violation is judged at one witness (or, no-reuse-while-cached, on one entry), so the
  /// branches of the choice together reach exactly the violations of the whole model.
  std::string slice_guard(const Entry & e) const
  {
    if (!opt_.slice || e.kind == CacheKind::PasidCache) return "";
    const u64 span = u64{1} << (g_.shift(e.level) - g_.page_shift);
    const u64 lo = e.vpn * span, hi = lo + span - 1;
    if (lo == 0 && hi >= pages_ - 1) return "";
    return lo == hi ? " && wp == " + std::to_string(lo)
                    : " && wp >= " + std::to_string(lo) + " && wp <= " + std::to_string(hi);
  }

  const PromelaOptions opt_;
  const Scenario & sc_;
  const Timeline & tl_;
  const Config & cfg_;
  const Geometry & g_;
  const std::vector<u64> pasids_;
  const u64 pages_;
  std::vector<Entry> ents_;
  std::map<Entry, std::size_t> index_;
  std::map<std::pair<int, u64>, std::vector<std::size_t>> records_;
  std::map<std::pair<unsigned, u64>, std::vector<std::size_t>> by_page_;
  std::vector<std::vector<Formula>> checks_;
  /// possible_[g][i]: entry i is in the cache saturated up to gap g (it can be cached then).
  std::vector<std::vector<bool>> possible_;
};

}  // namespace

std::string promela_refusal(const Scenario & sc)
{
  const Config & cfg = sc.config;
  if (sc.profile != "generic")
    return "the Promela export supports the generic profile only, not " + sc.profile;
  const unsigned bits = cfg.geo.levels * cfg.geo.level_bits;
  if (bits > kPromelaMaxPageBits)
    return "a geometry of 2^" + std::to_string(bits) + " pages is too wide for the Promela export (at most 2^" +
           std::to_string(kPromelaMaxPageBits) + ": give a reduced \"geometry\")";
  if (!cfg.coherent()) return "the Promela export does not model non-coherent walkers";
  if (cfg.context_cache()) return "the Promela export does not model context entries";
  if (cfg.negative_caching() || cfg.negative_config()) return "the Promela export does not model negative caching";
  for (const Device & d : cfg.devices)
    if (d.pri) return "the Promela export does not model PRI page requests (device " + d.name + ")";
  for (const Domain & d : cfg.domains)
    if (!d.skip_levels.empty()) return "the Promela export does not model skipped table levels";
  for (const Step & s : sc.steps) {
    const std::string at = " (" + s.path + ")";
    if (s.op == Op::Fence || s.op == Op::Clflush) return "the Promela export does not model fences or clflush" + at;
    if (s.drain) return "the Promela export does not model page-request drains" + at;
    if (s.op == Op::ConfigWrite) {
      if (s.cw.torn) return "the Promela export does not model torn entry writes" + at;
      if (s.cw.depth != 0) return "the Promela export does not model context entries" + at;
      if (s.cw.fields == ConfigWrite::Fields::Dirty || s.cw.dirty)
        return "the Promela export does not model dirty tracking" + at;
      if (s.cw.type == kPgttNested || s.cw.type == kPgttPassThrough)
        return "the Promela export does not model nested or pass-through entries" + at;
    }
  }
  return "";
}

std::string export_promela(const Scenario & sc, const Timeline & tl, const PromelaOptions & opt)
{
  NOSTALE_CHECK(promela_refusal(sc).empty(), "export_promela on a scenario it refuses");
  return Exporter(sc, tl, opt).run();
}

}  // namespace nostale
