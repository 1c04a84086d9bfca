// VT-d queued-invalidation descriptor codec. Field positions and reserved masks are one table
// per type (kLayouts); decode, encode, the reserved masks and DESCRIPTORS.md all follow it.
#include "spec/model/format.h"
#include "spec/profiles/vtd/descriptor.h"

#include <cstdio>
#include <initializer_list>
#include <type_traits>

#include "spec/model/errors.h"
#include "spec/profiles/api/json_fields.h"

namespace nostale::vtd {

namespace {

using json = nlohmann::json;
using namespace json_fields;

using Field = FieldInfo;

constexpr const char * kRsvd = "reserved";

// Every bit of qw0/qw1 appears exactly once per type (checked by the unit test). Sources per
// row: DESCRIPTORS.md.
const Field kCc[] = {
    {"type[3:0]", 0, 3, 0}, {"G", 0, 5, 4},        {kRsvd, 0, 8, 6},   {"type[6:4]", 0, 11, 9},
    {kRsvd, 0, 15, 12},     {"DID", 0, 31, 16},    {"SID", 0, 47, 32}, {"FM", 0, 49, 48},
    {kRsvd, 0, 63, 50},     {kRsvd, 1, 63, 0}};
const Field kIotlb[] = {
    {"type[3:0]", 0, 3, 0}, {"G", 0, 5, 4},     {"DW", 0, 6, 6},  {"DR", 0, 7, 7},
    {kRsvd, 0, 8, 8},       {"type[6:4]", 0, 11, 9}, {kRsvd, 0, 15, 12}, {"DID", 0, 31, 16},
    {kRsvd, 0, 63, 32},     {"AM", 1, 5, 0},    {"IH", 1, 6, 6},  {kRsvd, 1, 11, 7},
    {"ADDR", 1, 63, 12}};
const Field kDevTlb[] = {
    {"type[3:0]", 0, 3, 0}, {kRsvd, 0, 8, 4},      {"type[6:4]", 0, 11, 9}, {"PFSID[3:0]", 0, 15, 12},
    {"MIP", 0, 20, 16},     {kRsvd, 0, 31, 21},    {"SID", 0, 47, 32},      {kRsvd, 0, 51, 48},
    {"PFSID[15:4]", 0, 63, 52}, {"S", 1, 0, 0},    {kRsvd, 1, 11, 1},       {"ADDR", 1, 63, 12}};
const Field kIec[] = {
    {"type[3:0]", 0, 3, 0}, {"G", 0, 4, 4},    {kRsvd, 0, 8, 5},   {"type[6:4]", 0, 11, 9},
    {kRsvd, 0, 26, 12},     {"IM", 0, 31, 27}, {"IIDX", 0, 47, 32}, {kRsvd, 0, 63, 48},
    {kRsvd, 1, 63, 0}};
const Field kWait[] = {
    {"type[3:0]", 0, 3, 0}, {"IF", 0, 4, 4},         {"SW", 0, 5, 5},         {"FN", 0, 6, 6},
    {"PD", 0, 7, 7},        {kRsvd, 0, 8, 8},        {"type[6:4]", 0, 11, 9}, {kRsvd, 0, 31, 12},
    {"STATUS_DATA", 0, 63, 32}, {kRsvd, 1, 1, 0},    {"STATUS_ADDR", 1, 63, 2}};
const Field kPIotlb[] = {
    {"type[3:0]", 0, 3, 0}, {"G", 0, 5, 4},      {kRsvd, 0, 8, 6},     {"type[6:4]", 0, 11, 9},
    {kRsvd, 0, 15, 12},     {"DID", 0, 31, 16},  {"PASID", 0, 51, 32}, {kRsvd, 0, 63, 52},
    {"AM", 1, 5, 0},        {"IH", 1, 6, 6},     {kRsvd, 1, 11, 7},    {"ADDR", 1, 63, 12}};
const Field kPc[] = {
    {"type[3:0]", 0, 3, 0}, {"G", 0, 5, 4},     {kRsvd, 0, 8, 6},     {"type[6:4]", 0, 11, 9},
    {kRsvd, 0, 15, 12},     {"DID", 0, 31, 16}, {"PASID", 0, 51, 32}, {kRsvd, 0, 63, 52},
    {kRsvd, 1, 63, 0}};
const Field kPDevTlb[] = {
    {"type[3:0]", 0, 3, 0},     {"MIP", 0, 8, 4},   {"type[6:4]", 0, 11, 9}, {"PFSID[3:0]", 0, 15, 12},
    {"SID", 0, 31, 16},         {"PASID", 0, 51, 32}, {"PFSID[15:4]", 0, 63, 52},
    {"G", 1, 0, 0},             {kRsvd, 1, 10, 1},  {"S", 1, 11, 11},        {"ADDR", 1, 63, 12}};
// PDP (qw0[5], private data present) is reserved here: VT-d 4.0 removed private data and QEMU
// reserves the bit (DESCRIPTORS.md, decision 11); its own row makes errors name qw0[5].
const Field kPgrp[] = {
    {"type[3:0]", 0, 3, 0}, {"PP", 0, 4, 4},      {kRsvd, 0, 5, 5},     {kRsvd, 0, 8, 6},
    {"type[6:4]", 0, 11, 9}, {"RC", 0, 15, 12},   {"RID", 0, 31, 16},   {"PASID", 0, 51, 32},
    {kRsvd, 0, 63, 52},     {kRsvd, 1, 1, 0},     {"LPIG", 1, 2, 2},    {"PRGI", 1, 11, 3},
    {kRsvd, 1, 63, 12}};

struct Layout {
  const Field * begin;
  const Field * end;
};

template <std::size_t N>
constexpr Layout layout_of(const Field (&f)[N])
{
  return {f, f + N};
}

Layout layout(Type t)
{
  switch (t) {
    case Type::CcInv: return layout_of(kCc);
    case Type::IotlbInv: return layout_of(kIotlb);
    case Type::DevTlbInv: return layout_of(kDevTlb);
    case Type::IecInv: return layout_of(kIec);
    case Type::InvWait: return layout_of(kWait);
    case Type::PIotlbInv: return layout_of(kPIotlb);
    case Type::PcInv: return layout_of(kPc);
    case Type::PDevTlbInv: return layout_of(kPDevTlb);
    case Type::PageGrpResp: return layout_of(kPgrp);
  }
  NOSTALE_CHECK(false, "vtd: bad descriptor type");
  return {};
}

constexpr u64 mask(unsigned hi, unsigned lo)
{
  return (hi - lo == 63 ? ~u64{0} : ((u64{1} << (hi - lo + 1)) - 1)) << lo;
}
constexpr u64 get(u64 w, unsigned hi, unsigned lo) { return (w & mask(hi, lo)) >> lo; }
constexpr u64 put(u64 v, unsigned hi, unsigned lo) { return (v << lo) & mask(hi, lo); }

std::string range(unsigned word, unsigned hi, unsigned lo)
{
  std::string s = "qw" + std::to_string(word) + "[" + std::to_string(hi);
  if (hi != lo) s += ":" + std::to_string(lo);
  return s + "]";
}

void check_reserved(Type t, const std::vector<u64> & w, const std::string & path)
{
  std::string bad;
  auto note = [&](unsigned word, unsigned hi, unsigned lo) {
    u64 v = w[word] & mask(hi, lo);
    if (v == 0) return;
    bad += (bad.empty() ? "" : ", ") + range(word, hi, lo) + " = " + hex(v >> lo);
  };
  Layout l = layout(t);
  for (const Field * f = l.begin; f != l.end; ++f)
    if (f->name == kRsvd) note(f->word, f->hi, f->lo);
  for (unsigned word = 2; word < w.size(); ++word) note(word, 63, 0);
  if (!bad.empty())
    throw ScenarioError(path, std::string(type_name(t)) + ": reserved field" +
                                  (bad.find(',') == std::string::npos ? " " : "s ") + bad +
                                  " must be zero (VTD-DESC-1)");
}

/// The check both forms share: the wait descriptor's action. A page-selective address that is
/// not aligned to its mask, or wider than the address width, is not checked here: hardware
/// accepts it and ignores those bits (VTD-DESC-7, VTD-DESC-8; vtd.cpp decodes it so).
/// `at(key)` is where an error about `key` points.
template <class At>
void check_semantics(const Descriptor & d, const At & at)
{
  if (auto * p = std::get_if<InvWait>(&d.body); p && !p->sw && !p->if_ && !p->fn)
    throw ScenarioError(at("sw"), "inv_wait: none of SW, IF, FN is set: the descriptor requests nothing "
                                  "(QEMU vtd_process_wait_desc reports an invalid descriptor)");
}

// ---- raw -------------------------------------------------------------------------------------

Descriptor decode_words(Type t, u64 q0, u64 q1, const std::string & path)
{
  auto bad_g = [&](u64 g, const char * valid) {
    return ScenarioError(path, std::string(type_name(t)) + ": invalid granularity G qw0[5:4] = " +
                                   std::to_string(g) + " (valid: " + valid + ")");
  };
  switch (t) {
    case Type::CcInv: {
      CcInv c;
      u64 g = get(q0, 5, 4);
      if (g == 0) throw bad_g(g, "1 global, 2 domain, 3 device");
      c.g = static_cast<CcGran>(g);
      c.did = static_cast<std::uint16_t>(get(q0, 31, 16));
      c.sid = static_cast<std::uint16_t>(get(q0, 47, 32));
      c.fm = static_cast<std::uint8_t>(get(q0, 49, 48));
      return {c};
    }
    case Type::IotlbInv: {
      IotlbInv c;
      u64 g = get(q0, 5, 4);
      if (g == 0) throw bad_g(g, "1 global, 2 DSI, 3 PSI");
      c.g = static_cast<IotlbGran>(g);
      c.dw = get(q0, 6, 6);
      c.dr = get(q0, 7, 7);
      c.did = static_cast<std::uint16_t>(get(q0, 31, 16));
      c.am = static_cast<std::uint8_t>(get(q1, 5, 0));
      c.ih = get(q1, 6, 6);
      c.addr = q1 & mask(63, 12);
      return {c};
    }
    case Type::DevTlbInv: {
      DevTlbInv c;
      c.pfsid = static_cast<std::uint16_t>(get(q0, 15, 12) | get(q0, 63, 52) << 4);
      c.mip = static_cast<std::uint8_t>(get(q0, 20, 16));
      c.sid = static_cast<std::uint16_t>(get(q0, 47, 32));
      c.s = get(q1, 0, 0);
      c.addr = q1 & mask(63, 12);
      return {c};
    }
    case Type::IecInv: {
      IecInv c;
      c.g = static_cast<IecGran>(get(q0, 4, 4));
      c.im = static_cast<std::uint8_t>(get(q0, 31, 27));
      c.iidx = static_cast<std::uint16_t>(get(q0, 47, 32));
      return {c};
    }
    case Type::InvWait: {
      InvWait c;
      c.if_ = get(q0, 4, 4);
      c.sw = get(q0, 5, 5);
      c.fn = get(q0, 6, 6);
      c.pd = get(q0, 7, 7);
      c.status_data = static_cast<std::uint32_t>(get(q0, 63, 32));
      c.status_addr = q1 & mask(63, 2);
      return {c};
    }
    case Type::PIotlbInv: {
      PIotlbInv c;
      u64 g = get(q0, 5, 4);
      if (g < 2) throw bad_g(g, "2 all of DID+PASID, 3 page-selective within PASID");
      c.g = static_cast<PIotlbGran>(g);
      c.did = static_cast<std::uint16_t>(get(q0, 31, 16));
      c.pasid = static_cast<std::uint32_t>(get(q0, 51, 32));
      c.am = static_cast<std::uint8_t>(get(q1, 5, 0));
      c.ih = get(q1, 6, 6);
      c.addr = q1 & mask(63, 12);
      return {c};
    }
    case Type::PcInv: {
      PcInv c;
      u64 g = get(q0, 5, 4);
      if (g == 2) throw bad_g(g, "0 domain-selective, 1 PASID-selective, 3 global");
      c.g = static_cast<PcGran>(g);
      c.did = static_cast<std::uint16_t>(get(q0, 31, 16));
      c.pasid = static_cast<std::uint32_t>(get(q0, 51, 32));
      return {c};
    }
    case Type::PDevTlbInv: {
      PDevTlbInv c;
      c.mip = static_cast<std::uint8_t>(get(q0, 8, 4));
      c.pfsid = static_cast<std::uint16_t>(get(q0, 15, 12) | get(q0, 63, 52) << 4);
      c.sid = static_cast<std::uint16_t>(get(q0, 31, 16));
      c.pasid = static_cast<std::uint32_t>(get(q0, 51, 32));
      c.g = get(q1, 0, 0);
      c.s = get(q1, 11, 11);
      c.addr = q1 & mask(63, 12);
      return {c};
    }
    case Type::PageGrpResp: {
      PageGrpResp c;
      c.pp = get(q0, 4, 4);
      c.rc = static_cast<std::uint8_t>(get(q0, 15, 12));
      c.rid = static_cast<std::uint16_t>(get(q0, 31, 16));
      c.pasid = static_cast<std::uint32_t>(get(q0, 51, 32));
      c.lpig = get(q1, 2, 2);
      c.prgi = static_cast<std::uint16_t>(get(q1, 11, 3));
      return {c};
    }
  }
  NOSTALE_CHECK(false, "vtd: bad descriptor type");
  return {};
}

// ---- JSON ------------------------------------------------------------------------------------

/// json_fields::get_u64, also taking a non-negative *signed* JSON integer: the parser gives
/// unsigned ones, but JSON built in C++ from an int literal is signed.
u64 u64_of(const json & j, const std::string & path)
{
  if (j.is_number_integer() && !j.is_number_unsigned() && j.get<std::int64_t>() >= 0)
    return static_cast<u64>(j.get<std::int64_t>());
  return get_u64(j, path);
}

struct GranName {
  const char * name;
  unsigned code;
};
const GranName kCcGran[] = {{"global", 1}, {"domain", 2}, {"device", 3}};
const GranName kIotlbGran[] = {{"global", 1}, {"dsi", 2}, {"psi", 3}};
const GranName kIecGran[] = {{"global", 0}, {"index", 1}};
const GranName kPIotlbGran[] = {{"pasid", 2}, {"psi", 3}};
const GranName kPcGran[] = {{"domain", 0}, {"pasid", 1}, {"global", 3}};
/// page_grp_resp response codes with a PCIe meaning; the other 13 encodings are unused.
const GranName kRespCode[] = {{"success", 0x0}, {"invalid_request", 0x1}, {"response_failure", 0xf}};

template <std::size_t N>
const char * gran_name(const GranName (&t)[N], unsigned code)
{
  for (const GranName & g : t)
    if (g.code == code) return g.name;
  NOSTALE_CHECK(false, "vtd: granularity without a name");
  return "";
}

/// "granularity": a name from `t` or its encoding (an integer).
template <std::size_t N>
unsigned parse_gran(const json & j, const std::string & path, Type type, const GranName (&t)[N])
{
  const std::string p = path + "/granularity";
  const json & g = need(j, path, "granularity");
  std::string list;
  for (const GranName & n : t) list += (list.empty() ? "" : ", ") + std::string(n.name) + " = " + std::to_string(n.code);
  if (g.is_string()) {
    std::string s = g.get<std::string>();
    for (const GranName & n : t)
      if (s == n.name) return n.code;
    throw ScenarioError(p, std::string(type_name(type)) + ": unknown granularity '" + s + "' (" + list + ")");
  }
  u64 v = u64_of(g, p);
  for (const GranName & n : t)
    if (v == n.code) return n.code;
  throw ScenarioError(p, std::string(type_name(type)) + ": invalid granularity " + std::to_string(v) + " (" + list + ")");
}

/// The unsigned field `key` of at most `bits` bits; missing: 0, or an error if `required`.
u64 num(const json & j, const std::string & path, Type t, const char * key, unsigned bits, bool required)
{
  auto it = j.find(key);
  if (it == j.end()) {
    if (required)
      throw ScenarioError(path + "/" + key, std::string("missing required key '") + key + "' (" + type_name(t) + ")");
    return 0;
  }
  u64 v = u64_of(*it, path + "/" + key);
  if (bits < 64 && (v >> bits) != 0)
    throw ScenarioError(path + "/" + key, std::string(type_name(t)) + ": " + key + " = " + hex(v) + " does not fit in " +
                                              std::to_string(bits) + " bits (at most " + hex(mask(bits - 1, 0)) + ")");
  return v;
}

/// An address field whose low `low_bits` bits are not encoded (ADDR[63:12], STATUS_ADDR[63:2]).
u64 address(const json & j, const std::string & path, Type t, const char * key, unsigned low_bits, bool required)
{
  u64 v = num(j, path, t, key, 64, required);
  if (v & mask(low_bits - 1, 0))
    throw ScenarioError(path + "/" + key, std::string(type_name(t)) + ": " + key + " = " + hex(v) + " must be aligned to " +
                                              hex(u64{1} << low_bits) + " (the descriptor holds bits [63:" +
                                              std::to_string(low_bits) + "] only)");
  return v;
}

bool flag(const json & j, const std::string & path, const char * key) { return get_bool(j, path, key, false); }

/// page_grp_resp "rc": a name of kRespCode or any 4-bit number (the field holds all 16).
std::uint8_t parse_rc(const json & j, const std::string & path, Type t)
{
  const std::string p = path + "/rc";
  const json & v = need(j, path, "rc");
  if (v.is_string() && v.get<std::string>().rfind("0x", 0) != 0) {
    std::string s = v.get<std::string>(), list;
    for (const GranName & n : kRespCode) {
      if (s == n.name) return static_cast<std::uint8_t>(n.code);
      list += (list.empty() ? "" : ", ") + std::string(n.name) + " = " + std::to_string(n.code);
    }
    throw ScenarioError(p, std::string(type_name(t)) + ": unknown response code '" + s + "' (" + list +
                               ", or a number below 16)");
  }
  return static_cast<std::uint8_t>(num(j, path, t, "rc", 4, true));
}

/// The name of response code `rc`, or nullptr for an unused encoding.
const char * rc_name(unsigned rc)
{
  for (const GranName & n : kRespCode)
    if (n.code == rc) return n.name;
  return nullptr;
}

template <class T>
T narrow(u64 v)
{
  return static_cast<T>(v);
}

// ---- output ----------------------------------------------------------------------------------

/// Granularity names in describe(): the JSON name in capitals.
std::string upper(const char * s)
{
  std::string r = s;
  for (char & ch : r)
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  return r;
}

}  // namespace

const char * type_name(Type t)
{
  switch (t) {
    case Type::CcInv: return "cc_inv";
    case Type::IotlbInv: return "iotlb_inv";
    case Type::DevTlbInv: return "dev_tlb_inv";
    case Type::IecInv: return "iec_inv";
    case Type::InvWait: return "inv_wait";
    case Type::PIotlbInv: return "p_iotlb_inv";
    case Type::PcInv: return "pc_inv";
    case Type::PDevTlbInv: return "p_dev_tlb_inv";
    case Type::PageGrpResp: return "page_grp_resp";
  }
  return "?";
}

std::vector<FieldInfo> fields(Type t)
{
  Layout l = layout(t);
  return {l.begin, l.end};
}

bool needs_256bit_queue(Type t) { return t == Type::PIotlbInv || t == Type::PcInv || t == Type::PDevTlbInv; }

u64 reserved_mask(Type t, unsigned word)
{
  NOSTALE_CHECK(word < 4, "vtd: descriptor word index out of range");
  if (word >= 2) return ~u64{0};
  u64 m = 0;
  Layout l = layout(t);
  for (const Field * f = l.begin; f != l.end; ++f)
    if (f->name == kRsvd && f->word == word) m |= mask(f->hi, f->lo);
  return m;
}

Descriptor decode_raw(const std::vector<u64> & words, const std::string & path)
{
  if (words.size() != 2 && words.size() != 4)
    throw ScenarioError(path, "a VT-d descriptor is 2 (128-bit) or 4 (256-bit) 64-bit words, got " +
                                  std::to_string(words.size()));
  const u64 q0 = words[0];
  const unsigned code = static_cast<unsigned>(get(q0, 3, 0) | get(q0, 11, 9) << 4);
  if (code < 1 || code > 9) {
    std::string what = code == 0xa ? " (page-stream response, not decoded)" : "";
    throw ScenarioError(path, "unknown descriptor type " + hex(code) + what + " (type[6:4] = qw0[11:9] = " +
                                  hex(get(q0, 11, 9)) + ", type[3:0] = qw0[3:0] = " + hex(get(q0, 3, 0)) +
                                  "; decoded: 0x1..0x9)");
  }
  const Type t = static_cast<Type>(code);
  check_reserved(t, words, path);
  Descriptor d = decode_words(t, q0, words[1], path);
  d.wide = words.size() == 4;
  check_semantics(d, [&](const char *) { return path; });
  return d;
}

std::vector<u64> encode_raw(const Descriptor & d)
{
  u64 q0 = put(static_cast<unsigned>(d.type()) & 0xf, 3, 0) | put(static_cast<unsigned>(d.type()) >> 4, 11, 9);
  u64 q1 = 0;
  auto fits = [](u64 v, unsigned bits, const char * what) {
    NOSTALE_CHECK((v >> bits) == 0, std::string("vtd encode: ") + what + " does not fit in " + std::to_string(bits) + " bits");
  };
  auto page = [](u64 a) {
    NOSTALE_CHECK((a & 0xfff) == 0, "vtd encode: address not 4-KiB aligned");
    return a;
  };
  std::visit(
      [&](const auto & c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CcInv>) {
          unsigned g = static_cast<unsigned>(c.g);
          NOSTALE_CHECK(g >= 1 && g <= 3, "vtd encode: bad cc_inv granularity");
          fits(c.fm, 2, "cc_inv fm");
          q0 |= put(g, 5, 4) | put(c.did, 31, 16) | put(c.sid, 47, 32) | put(c.fm, 49, 48);
        } else if constexpr (std::is_same_v<T, IotlbInv>) {
          unsigned g = static_cast<unsigned>(c.g);
          NOSTALE_CHECK(g >= 1 && g <= 3, "vtd encode: bad iotlb_inv granularity");
          fits(c.am, 6, "iotlb_inv am");
          q0 |= put(g, 5, 4) | put(c.dw, 6, 6) | put(c.dr, 7, 7) | put(c.did, 31, 16);
          q1 = put(c.am, 5, 0) | put(c.ih, 6, 6) | page(c.addr);
        } else if constexpr (std::is_same_v<T, DevTlbInv>) {
          fits(c.mip, 5, "dev_tlb_inv mip");
          q0 |= put(c.pfsid & 0xf, 15, 12) | put(c.mip, 20, 16) | put(c.sid, 47, 32) | put(c.pfsid >> 4, 63, 52);
          q1 = put(c.s, 0, 0) | page(c.addr);
        } else if constexpr (std::is_same_v<T, IecInv>) {
          unsigned g = static_cast<unsigned>(c.g);
          NOSTALE_CHECK(g <= 1, "vtd encode: bad iec_inv granularity");
          fits(c.im, 5, "iec_inv im");
          q0 |= put(g, 4, 4) | put(c.im, 31, 27) | put(c.iidx, 47, 32);
        } else if constexpr (std::is_same_v<T, InvWait>) {
          NOSTALE_CHECK((c.status_addr & 3) == 0, "vtd encode: inv_wait status address not 4-byte aligned");
          q0 |= put(c.if_, 4, 4) | put(c.sw, 5, 5) | put(c.fn, 6, 6) | put(c.pd, 7, 7) | put(c.status_data, 63, 32);
          q1 = c.status_addr;
        } else if constexpr (std::is_same_v<T, PIotlbInv>) {
          unsigned g = static_cast<unsigned>(c.g);
          NOSTALE_CHECK(g == 2 || g == 3, "vtd encode: bad p_iotlb_inv granularity");
          fits(c.pasid, 20, "p_iotlb_inv pasid");
          fits(c.am, 6, "p_iotlb_inv am");
          q0 |= put(g, 5, 4) | put(c.did, 31, 16) | put(c.pasid, 51, 32);
          q1 = put(c.am, 5, 0) | put(c.ih, 6, 6) | page(c.addr);
        } else if constexpr (std::is_same_v<T, PcInv>) {
          unsigned g = static_cast<unsigned>(c.g);
          NOSTALE_CHECK(g <= 3 && g != 2, "vtd encode: bad pc_inv granularity");
          fits(c.pasid, 20, "pc_inv pasid");
          q0 |= put(g, 5, 4) | put(c.did, 31, 16) | put(c.pasid, 51, 32);
        } else if constexpr (std::is_same_v<T, PDevTlbInv>) {
          fits(c.mip, 5, "p_dev_tlb_inv mip");
          fits(c.pasid, 20, "p_dev_tlb_inv pasid");
          q0 |= put(c.mip, 8, 4) | put(c.pfsid & 0xf, 15, 12) | put(c.sid, 31, 16) | put(c.pasid, 51, 32) |
                put(c.pfsid >> 4, 63, 52);
          q1 = put(c.g, 0, 0) | put(c.s, 11, 11) | page(c.addr);
        } else {
          static_assert(std::is_same_v<T, PageGrpResp>);
          fits(c.rc, 4, "page_grp_resp rc");
          fits(c.pasid, 20, "page_grp_resp pasid");
          fits(c.prgi, 9, "page_grp_resp prgi");
          q0 |= put(c.pp, 4, 4) | put(c.rc, 15, 12) | put(c.rid, 31, 16) | put(c.pasid, 51, 32);
          q1 = put(c.lpig, 2, 2) | put(c.prgi, 11, 3);
        }
      },
      d.body);
  std::vector<u64> w{q0, q1};
  if (d.wide) w.insert(w.end(), {0, 0});
  return w;
}

Descriptor decode_json(const json & j, const std::string & path)
{
  if (!j.is_object()) throw ScenarioError(path.empty() ? "/" : path, "expected a descriptor object, got " + std::string(j.type_name()));
  const std::string tname = get_string(need(j, path, "type"), path + "/type");
  Type t{};
  bool found = false;
  std::string list;
  for (unsigned c = 1; c <= 9; ++c) {
    list += (list.empty() ? "" : ", ") + std::string(type_name(static_cast<Type>(c)));
    if (tname == type_name(static_cast<Type>(c))) t = static_cast<Type>(c), found = true;
  }
  if (!found) throw ScenarioError(path + "/type", "unknown descriptor type '" + tname + "' (known: " + list + ")");

  Descriptor d;
  if (auto it = j.find("width"); it != j.end()) {
    u64 w = u64_of(*it, path + "/width");
    if (w != 128 && w != 256) throw ScenarioError(path + "/width", "width must be 128 or 256 (bits), got " + std::to_string(w));
    d.wide = w == 256;
  }
  switch (t) {
    case Type::CcInv: {
      only_keys(j, path, {"type", "width", "granularity", "did", "sid", "fm"});
      CcInv c;
      c.g = static_cast<CcGran>(parse_gran(j, path, t, kCcGran));
      c.did = narrow<std::uint16_t>(num(j, path, t, "did", 16, c.g != CcGran::Global));
      c.sid = narrow<std::uint16_t>(num(j, path, t, "sid", 16, c.g == CcGran::Device));
      c.fm = narrow<std::uint8_t>(num(j, path, t, "fm", 2, false));
      d.body = c;
      break;
    }
    case Type::IotlbInv: {
      only_keys(j, path, {"type", "width", "granularity", "dr", "dw", "did", "addr", "am", "ih"});
      IotlbInv c;
      c.g = static_cast<IotlbGran>(parse_gran(j, path, t, kIotlbGran));
      const bool psi = c.g == IotlbGran::Psi;
      c.dr = flag(j, path, "dr");
      c.dw = flag(j, path, "dw");
      c.did = narrow<std::uint16_t>(num(j, path, t, "did", 16, c.g != IotlbGran::Global));
      c.addr = address(j, path, t, "addr", 12, psi);
      c.am = narrow<std::uint8_t>(num(j, path, t, "am", 6, psi));
      c.ih = flag(j, path, "ih");
      d.body = c;
      break;
    }
    case Type::DevTlbInv: {
      only_keys(j, path, {"type", "width", "sid", "pfsid", "mip", "s", "addr"});
      DevTlbInv c;
      c.sid = narrow<std::uint16_t>(num(j, path, t, "sid", 16, true));
      c.pfsid = narrow<std::uint16_t>(num(j, path, t, "pfsid", 16, false));
      c.mip = narrow<std::uint8_t>(num(j, path, t, "mip", 5, false));
      c.s = flag(j, path, "s");
      c.addr = address(j, path, t, "addr", 12, true);
      d.body = c;
      break;
    }
    case Type::IecInv: {
      only_keys(j, path, {"type", "width", "granularity", "iidx", "im"});
      IecInv c;
      c.g = static_cast<IecGran>(parse_gran(j, path, t, kIecGran));
      c.iidx = narrow<std::uint16_t>(num(j, path, t, "iidx", 16, c.g == IecGran::Index));
      c.im = narrow<std::uint8_t>(num(j, path, t, "im", 5, false));
      d.body = c;
      break;
    }
    case Type::InvWait: {
      only_keys(j, path, {"type", "width", "sw", "if", "fn", "pd", "status_data", "status_addr"});
      InvWait c;
      c.sw = flag(j, path, "sw");
      c.if_ = flag(j, path, "if");
      c.fn = flag(j, path, "fn");
      c.pd = flag(j, path, "pd");
      c.status_data = narrow<std::uint32_t>(num(j, path, t, "status_data", 32, false));
      c.status_addr = address(j, path, t, "status_addr", 2, c.sw);
      d.body = c;
      break;
    }
    case Type::PIotlbInv: {
      only_keys(j, path, {"type", "width", "granularity", "did", "pasid", "addr", "am", "ih"});
      PIotlbInv c;
      c.g = static_cast<PIotlbGran>(parse_gran(j, path, t, kPIotlbGran));
      const bool psi = c.g == PIotlbGran::Psi;
      c.did = narrow<std::uint16_t>(num(j, path, t, "did", 16, true));
      c.pasid = narrow<std::uint32_t>(num(j, path, t, "pasid", 20, true));
      c.addr = address(j, path, t, "addr", 12, psi);
      c.am = narrow<std::uint8_t>(num(j, path, t, "am", 6, psi));
      c.ih = flag(j, path, "ih");
      d.body = c;
      break;
    }
    case Type::PcInv: {
      only_keys(j, path, {"type", "width", "granularity", "did", "pasid"});
      PcInv c;
      c.g = static_cast<PcGran>(parse_gran(j, path, t, kPcGran));
      c.did = narrow<std::uint16_t>(num(j, path, t, "did", 16, c.g != PcGran::Global));
      c.pasid = narrow<std::uint32_t>(num(j, path, t, "pasid", 20, c.g == PcGran::Pasid));
      d.body = c;
      break;
    }
    case Type::PDevTlbInv: {
      only_keys(j, path, {"type", "width", "sid", "pfsid", "pasid", "mip", "s", "g", "addr"});
      PDevTlbInv c;
      c.sid = narrow<std::uint16_t>(num(j, path, t, "sid", 16, true));
      c.pfsid = narrow<std::uint16_t>(num(j, path, t, "pfsid", 16, false));
      c.pasid = narrow<std::uint32_t>(num(j, path, t, "pasid", 20, true));
      c.mip = narrow<std::uint8_t>(num(j, path, t, "mip", 5, false));
      c.s = flag(j, path, "s");
      c.g = flag(j, path, "g");
      c.addr = address(j, path, t, "addr", 12, true);
      d.body = c;
      break;
    }
    case Type::PageGrpResp: {
      only_keys(j, path, {"type", "width", "rid", "pp", "pasid", "rc", "prgi", "lpig"});
      PageGrpResp c;
      c.rid = narrow<std::uint16_t>(num(j, path, t, "rid", 16, true));
      c.pp = flag(j, path, "pp");
      c.pasid = narrow<std::uint32_t>(num(j, path, t, "pasid", 20, c.pp));
      c.rc = parse_rc(j, path, t);
      c.prgi = narrow<std::uint16_t>(num(j, path, t, "prgi", 9, true));
      c.lpig = flag(j, path, "lpig");
      d.body = c;
      break;
    }
  }
  check_semantics(d, [&](const char * key) { return path + "/" + key; });
  return d;
}

json to_json(const Descriptor & d)
{
  json o = json::object();
  o["type"] = type_name(d.type());
  if (d.wide) o["width"] = 256u;
  // `always`: the granularity uses the field; otherwise it is written only when non-zero so
  // that decode_json gives back the same bits.
  auto n = [&](const char * key, u64 v, bool always) {
    if (always || v) o[key] = v;
  };
  auto a = [&](const char * key, u64 v, bool always) {
    if (always || v) o[key] = hex(v);
  };
  auto b = [&](const char * key, bool v, bool always) {
    if (always || v) o[key] = v;
  };
  std::visit(
      [&](const auto & c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CcInv>) {
          o["granularity"] = gran_name(kCcGran, static_cast<unsigned>(c.g));
          n("did", c.did, c.g != CcGran::Global);
          n("sid", c.sid, c.g == CcGran::Device);
          n("fm", c.fm, c.g == CcGran::Device);
        } else if constexpr (std::is_same_v<T, IotlbInv>) {
          const bool psi = c.g == IotlbGran::Psi;
          o["granularity"] = gran_name(kIotlbGran, static_cast<unsigned>(c.g));
          n("did", c.did, c.g != IotlbGran::Global);
          a("addr", c.addr, psi);
          n("am", c.am, psi);
          b("ih", c.ih, psi);
          b("dr", c.dr, true);
          b("dw", c.dw, true);
        } else if constexpr (std::is_same_v<T, DevTlbInv>) {
          n("sid", c.sid, true);
          n("pfsid", c.pfsid, false);
          n("mip", c.mip, false);
          b("s", c.s, true);
          a("addr", c.addr, true);
        } else if constexpr (std::is_same_v<T, IecInv>) {
          o["granularity"] = gran_name(kIecGran, static_cast<unsigned>(c.g));
          n("iidx", c.iidx, c.g == IecGran::Index);
          n("im", c.im, c.g == IecGran::Index);
        } else if constexpr (std::is_same_v<T, InvWait>) {
          b("sw", c.sw, true);
          b("if", c.if_, true);
          b("fn", c.fn, true);
          b("pd", c.pd, true);
          n("status_data", c.status_data, c.sw);
          a("status_addr", c.status_addr, c.sw);
        } else if constexpr (std::is_same_v<T, PIotlbInv>) {
          const bool psi = c.g == PIotlbGran::Psi;
          o["granularity"] = gran_name(kPIotlbGran, static_cast<unsigned>(c.g));
          n("did", c.did, true);
          n("pasid", c.pasid, true);
          a("addr", c.addr, psi);
          n("am", c.am, psi);
          b("ih", c.ih, psi);
        } else if constexpr (std::is_same_v<T, PcInv>) {
          o["granularity"] = gran_name(kPcGran, static_cast<unsigned>(c.g));
          n("did", c.did, c.g != PcGran::Global);
          n("pasid", c.pasid, c.g == PcGran::Pasid);
        } else if constexpr (std::is_same_v<T, PDevTlbInv>) {
          n("sid", c.sid, true);
          n("pfsid", c.pfsid, false);
          n("pasid", c.pasid, true);
          n("mip", c.mip, false);
          b("g", c.g, true);
          b("s", c.s, true);
          a("addr", c.addr, true);
        } else {
          static_assert(std::is_same_v<T, PageGrpResp>);
          n("rid", c.rid, true);
          b("pp", c.pp, true);
          n("pasid", c.pasid, c.pp);
          if (const char * name = rc_name(c.rc)) o["rc"] = name;
          else o["rc"] = c.rc;
          n("prgi", c.prgi, true);
          b("lpig", c.lpig, true);
        }
      },
      d.body);
  return o;
}

std::string describe(const Descriptor & d)
{
  std::string s = type_name(d.type());
  auto kv = [&](const char * key, const std::string & v) { s += std::string(" ") + key + "=" + v; };
  auto dec = [](u64 v) { return std::to_string(v); };
  std::visit(
      [&](const auto & c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CcInv>) {
          s += std::string(" ") + upper(gran_name(kCcGran, static_cast<unsigned>(c.g)));
          if (c.g != CcGran::Global) kv("did", dec(c.did));
          if (c.g == CcGran::Device) kv("sid", hex(c.sid)), kv("fm", dec(c.fm));
        } else if constexpr (std::is_same_v<T, IotlbInv>) {
          s += std::string(" ") + upper(gran_name(kIotlbGran, static_cast<unsigned>(c.g)));
          if (c.g != IotlbGran::Global) kv("did", dec(c.did));
          if (c.g == IotlbGran::Psi) kv("addr", hex(c.addr)), kv("am", dec(c.am)), kv("ih", dec(c.ih));
          if (c.dr) kv("dr", "1");
          if (c.dw) kv("dw", "1");
        } else if constexpr (std::is_same_v<T, DevTlbInv>) {
          kv("sid", hex(c.sid));
          kv("addr", hex(c.addr));
          kv("s", dec(c.s));
          if (c.mip) kv("mip", dec(c.mip));
          if (c.pfsid) kv("pfsid", hex(c.pfsid));
        } else if constexpr (std::is_same_v<T, IecInv>) {
          s += std::string(" ") + upper(gran_name(kIecGran, static_cast<unsigned>(c.g)));
          if (c.g == IecGran::Index) kv("iidx", dec(c.iidx)), kv("im", dec(c.im));
        } else if constexpr (std::is_same_v<T, InvWait>) {
          if (c.sw) s += " SW";
          if (c.if_) s += " IF";
          if (c.fn) s += " FN";
          if (c.pd) s += " PD";
          if (c.sw) kv("status_data", hex(c.status_data)), kv("status_addr", hex(c.status_addr));
        } else if constexpr (std::is_same_v<T, PIotlbInv>) {
          s += std::string(" ") + upper(gran_name(kPIotlbGran, static_cast<unsigned>(c.g)));
          kv("did", dec(c.did));
          kv("pasid", dec(c.pasid));
          if (c.g == PIotlbGran::Psi) kv("addr", hex(c.addr)), kv("am", dec(c.am)), kv("ih", dec(c.ih));
        } else if constexpr (std::is_same_v<T, PcInv>) {
          s += std::string(" ") + upper(gran_name(kPcGran, static_cast<unsigned>(c.g)));
          if (c.g != PcGran::Global) kv("did", dec(c.did));
          if (c.g == PcGran::Pasid) kv("pasid", dec(c.pasid));
        } else if constexpr (std::is_same_v<T, PDevTlbInv>) {
          kv("sid", hex(c.sid));
          kv("pasid", dec(c.pasid));
          kv("addr", hex(c.addr));
          kv("s", dec(c.s));
          if (c.g) kv("g", "1");
          if (c.mip) kv("mip", dec(c.mip));
          if (c.pfsid) kv("pfsid", hex(c.pfsid));
        } else {
          static_assert(std::is_same_v<T, PageGrpResp>);
          kv("rid", hex(c.rid));
          if (c.pp) kv("pasid", dec(c.pasid));
          kv("prgi", dec(c.prgi));
          const char * name = rc_name(c.rc);
          kv("rc", name ? name : hex(c.rc));
          if (c.lpig) kv("lpig", "1");
        }
      },
      d.body);
  if (d.wide) s += " (256-bit)";
  return s;
}

}  // namespace nostale::vtd
