// The VT-d queued-invalidation descriptor codec (spec/profiles/vtd/descriptor.h): raw and JSON
// forms of every type decode to the same descriptor and encode back bit-exactly; every reserved
// bit, invalid granularity, misaligned page-selective address, unknown type and non-zero upper
// half of a 256-bit descriptor is rejected with an error naming the path and the bit range;
// encodings built with the Linux QI_* macros (re-stated below) decode as Linux means them; the
// reserved masks are QEMU's VTD_INV_DESC_* masks, with the deviations DESCRIPTORS.md records.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "spec/model/errors.h"
#include "spec/profiles/vtd/descriptor.h"

using namespace nostale;
using namespace nostale::vtd;
using nlohmann::json;
using Words = std::vector<u64>;

namespace {

const std::string kPath = "/steps/4/descriptor";

// ---- Linux drivers/iommu/intel/iommu.h, restated (v6.x; same values at @037dd130) ----------
namespace linux_qi {
constexpr u64 QI_CC_TYPE = 0x1, QI_IOTLB_TYPE = 0x2, QI_DIOTLB_TYPE = 0x3, QI_IEC_TYPE = 0x4, QI_IWD_TYPE = 0x5,
              QI_EIOTLB_TYPE = 0x6, QI_PC_TYPE = 0x7, QI_DEIOTLB_TYPE = 0x8;
enum { QI_FREE, QI_IN_USE, QI_DONE, QI_ABORT };
constexpr u64 DMA_TLB_FLUSH_GRANU_OFFSET = 60, DMA_CCMD_INVL_GRANU_OFFSET = 61;
constexpr u64 DMA_TLB_GLOBAL_FLUSH = u64{1} << 60, DMA_TLB_DSI_FLUSH = u64{2} << 60, DMA_TLB_PSI_FLUSH = u64{3} << 60;
constexpr u64 DMA_CCMD_GLOBAL_INVL = u64{1} << 61, DMA_CCMD_DOMAIN_INVL = u64{2} << 61,
              DMA_CCMD_DEVICE_INVL = u64{3} << 61;
constexpr u64 VTD_PAGE_MASK = ~u64{0xfff};

constexpr u64 QI_IEC_SELECTIVE = u64{1} << 4;
constexpr u64 QI_IEC_IIDEX(u64 idx) { return (idx & 0xffff) << 32; }
constexpr u64 QI_IEC_IM(u64 m) { return (m & 0x1f) << 27; }

constexpr u64 QI_IWD_STATUS_DATA(u64 d) { return d << 32; }
constexpr u64 QI_IWD_STATUS_WRITE = u64{1} << 5;
constexpr u64 QI_IWD_FENCE = u64{1} << 6;
constexpr u64 QI_IWD_PRQ_DRAIN = u64{1} << 7;

constexpr u64 QI_IOTLB_DID(u64 did) { return did << 16; }
constexpr u64 QI_IOTLB_DR(u64 dr) { return dr << 7; }
constexpr u64 QI_IOTLB_DW(u64 dw) { return dw << 6; }
constexpr u64 QI_IOTLB_GRAN(u64 gran) { return gran >> (DMA_TLB_FLUSH_GRANU_OFFSET - 4); }
constexpr u64 QI_IOTLB_ADDR(u64 addr) { return addr & VTD_PAGE_MASK; }
constexpr u64 QI_IOTLB_IH(u64 ih) { return ih << 6; }
constexpr u64 QI_IOTLB_AM(u64 am) { return static_cast<std::uint8_t>(am) & 0x3f; }

constexpr u64 QI_CC_FM(u64 fm) { return fm << 48; }
constexpr u64 QI_CC_SID(u64 sid) { return sid << 32; }
constexpr u64 QI_CC_DID(u64 did) { return did << 16; }
constexpr u64 QI_CC_GRAN(u64 gran) { return gran >> (DMA_CCMD_INVL_GRANU_OFFSET - 4); }

constexpr u64 QI_DEV_IOTLB_SID(u64 sid) { return (sid & 0xffff) << 32; }
constexpr u64 QI_DEV_IOTLB_QDEP(u64 qdep) { return (qdep & 0x1f) << 16; }
constexpr u64 QI_DEV_IOTLB_ADDR(u64 addr) { return addr & VTD_PAGE_MASK; }
constexpr u64 QI_DEV_IOTLB_PFSID(u64 pfsid) { return ((pfsid & 0xf) << 12) | (((pfsid >> 4) & 0xfff) << 52); }
constexpr u64 QI_DEV_IOTLB_SIZE = 1;
constexpr u64 QI_DEV_IOTLB_MAX_INVS = 32;

constexpr u64 QI_PC_PASID(u64 pasid) { return pasid << 32; }
constexpr u64 QI_PC_DID(u64 did) { return did << 16; }
constexpr u64 QI_PC_GRAN(u64 gran) { return gran << 4; }
constexpr u64 QI_PC_ALL_PASIDS = 0, QI_PC_PASID_SEL = 1, QI_PC_GLOBAL = 3;

constexpr u64 QI_EIOTLB_ADDR(u64 addr) { return addr & VTD_PAGE_MASK; }
constexpr u64 QI_EIOTLB_IH(u64 ih) { return ih << 6; }
constexpr u64 QI_EIOTLB_AM(u64 am) { return am & 0x3f; }
constexpr u64 QI_EIOTLB_PASID(u64 pasid) { return pasid << 32; }
constexpr u64 QI_EIOTLB_DID(u64 did) { return did << 16; }
constexpr u64 QI_EIOTLB_GRAN(u64 gran) { return gran << 4; }
constexpr u64 QI_GRAN_NONG_PASID = 2, QI_GRAN_PSI_PASID = 3;

constexpr u64 QI_DEV_IOTLB_GRAN_ALL = 1;  // qw1[0] of p_dev_tlb_inv (QI_DEV_EIOTLB_GLOB until v5.9)
constexpr u64 QI_DEV_EIOTLB_ADDR(u64 a) { return a & VTD_PAGE_MASK; }
constexpr u64 QI_DEV_EIOTLB_SIZE = u64{1} << 11;
constexpr u64 QI_DEV_EIOTLB_PASID(u64 p) { return (p & 0xfffff) << 32; }
constexpr u64 QI_DEV_EIOTLB_SID(u64 sid) { return (sid & 0xffff) << 16; }
constexpr u64 QI_DEV_EIOTLB_QDEP(u64 qd) { return (qd & 0x1f) << 4; }
constexpr u64 QI_DEV_EIOTLB_PFSID(u64 pfsid) { return ((pfsid & 0xf) << 12) | (((pfsid >> 4) & 0xfff) << 52); }

// Page group response (intel_iommu_page_response, handle_bad_prq_event). QI_PGRP_LPIG was
// dropped in 2025 ("Remove LPIG from page group response descriptor", bit 66 reserved since
// VT-d 4.0), QI_PGRP_PDP in 2024 ("Remove private data use in fault message").
constexpr u64 QI_PGRP_RESP_TYPE = 0x9;
constexpr u64 QI_PGRP_PASID_P(u64 p) { return p << 4; }
constexpr u64 QI_PGRP_PDP(u64 p) { return p << 5; }
constexpr u64 QI_PGRP_RESP_CODE(u64 res) { return res << 12; }
constexpr u64 QI_PGRP_DID(u64 rid) { return rid << 16; }
constexpr u64 QI_PGRP_PASID(u64 pasid) { return pasid << 32; }
constexpr u64 QI_PGRP_LPIG(u64 x) { return x << 2; }
constexpr u64 QI_PGRP_IDX(u64 idx) { return idx << 3; }
constexpr u64 QI_RESP_SUCCESS = 0x0, QI_RESP_INVALID = 0x1, QI_RESP_FAILURE = 0xf;
}  // namespace linux_qi

// QEMU hw/i386/intel_iommu_internal.h (after "intel_iommu: Fix invalidation descriptor type
// field", 2024, and the ECAP.PDS-dependent wait mask, 2025).
namespace qemu {
constexpr u64 VTD_INV_DESC_WAIT_IF = u64{1} << 4;
constexpr u64 VTD_INV_DESC_CC_RSVD = 0xfffc00000000f1c0ULL;
constexpr u64 VTD_INV_DESC_IOTLB_RSVD_LO = 0xffffffff0000f100ULL, VTD_INV_DESC_IOTLB_RSVD_HI = 0xf80ULL;
constexpr u64 VTD_INV_DESC_DEVICE_IOTLB_RSVD_LO = 0xffff0000ffe0f1f0ULL, VTD_INV_DESC_DEVICE_IOTLB_RSVD_HI = 0xffeULL;
constexpr u64 VTD_INV_DESC_IEC_RSVD = 0xffff000007fff1e0ULL;
constexpr u64 VTD_INV_DESC_WAIT_RSVD_LO_PDS = 0xfffff100ULL, VTD_INV_DESC_WAIT_RSVD_HI = 3ULL;
constexpr u64 VTD_INV_DESC_PIOTLB_RSVD_VAL0 = 0xfff000000000f1c0ULL, VTD_INV_DESC_PIOTLB_RSVD_VAL1 = 0xf80ULL;
constexpr u64 VTD_INV_DESC_PASIDC_RSVD_VAL0 = 0xfff000000000f1c0ULL;
constexpr u64 VTD_INV_DESC_PASID_DEVICE_IOTLB_RSVD_VAL0 = 0xfff000000000f000ULL,
              VTD_INV_DESC_PASID_DEVICE_IOTLB_RSVD_VAL1 = 0x7feULL;
// "intel_iommu: Add PRI operations support" (2025): vtd_process_page_group_response_desc.
constexpr u64 VTD_INV_DESC_PGRESP_RSVD_HI = 0xfffffffffffff003ULL, VTD_INV_DESC_PGRESP_RSVD_LO = 0xfff00000000001e0ULL;
constexpr u64 VTD_INV_DESC_ALL_ONE = ~u64{0};
}  // namespace qemu

/// PFSID's two pieces (qw0[15:12], qw0[63:52]): reserved in QEMU (no ECAP.DIT), a field here.
constexpr u64 kPfsidBits = 0xfff000000000f000ULL;

/// One descriptor in both forms.
struct Sample {
  const char * name;
  json j;
  Words w;
};

std::vector<Sample> samples()
{
  using namespace linux_qi;
  std::vector<Sample> s;
  // cc_inv: qi_flush_context(iommu, did, sid, fm, type)
  s.push_back({"cc_global", {{"type", "cc_inv"}, {"granularity", "global"}},
               {QI_CC_GRAN(DMA_CCMD_GLOBAL_INVL) | QI_CC_TYPE, 0}});
  s.push_back({"cc_domain", {{"type", "cc_inv"}, {"granularity", "domain"}, {"did", 7}},
               {QI_CC_DID(7) | QI_CC_GRAN(DMA_CCMD_DOMAIN_INVL) | QI_CC_TYPE, 0}});
  s.push_back({"cc_device", {{"type", "cc_inv"}, {"granularity", "device"}, {"did", 0}, {"sid", "0xff03"}, {"fm", 3}},
               {QI_CC_FM(3) | QI_CC_SID(0xff03) | QI_CC_DID(0) | QI_CC_GRAN(DMA_CCMD_DEVICE_INVL) | QI_CC_TYPE, 0}});
  // iotlb_inv: qi_desc_iotlb / qi_flush_iotlb
  s.push_back({"iotlb_global", {{"type", "iotlb_inv"}, {"granularity", "global"}},
               {QI_IOTLB_GRAN(DMA_TLB_GLOBAL_FLUSH) | QI_IOTLB_TYPE, 0}});
  s.push_back({"iotlb_dsi", {{"type", "iotlb_inv"}, {"granularity", "dsi"}, {"did", 65535}, {"dr", true}, {"dw", true}},
               {QI_IOTLB_DID(65535) | QI_IOTLB_DR(1) | QI_IOTLB_DW(1) | QI_IOTLB_GRAN(DMA_TLB_DSI_FLUSH) | QI_IOTLB_TYPE, 0}});
  s.push_back({"iotlb_psi",
               {{"type", "iotlb_inv"}, {"granularity", "psi"}, {"did", 1}, {"addr", "0x200000"}, {"am", 0}, {"ih", false},
                {"dr", true}, {"dw", true}},
               {QI_IOTLB_DID(1) | QI_IOTLB_DR(1) | QI_IOTLB_DW(1) | QI_IOTLB_GRAN(DMA_TLB_PSI_FLUSH) | QI_IOTLB_TYPE,
                QI_IOTLB_ADDR(0x200000) | QI_IOTLB_IH(0) | QI_IOTLB_AM(0)}});
  s.push_back({"iotlb_psi_1g_ih",
               {{"type", "iotlb_inv"}, {"granularity", "psi"}, {"did", 2}, {"addr", "0xc0000000"}, {"am", 18}, {"ih", true}},
               {QI_IOTLB_DID(2) | QI_IOTLB_GRAN(DMA_TLB_PSI_FLUSH) | QI_IOTLB_TYPE,
                QI_IOTLB_ADDR(0xc0000000) | QI_IOTLB_IH(1) | QI_IOTLB_AM(18)}});
  // dev_tlb_inv: qi_desc_dev_iotlb (qdep >= QI_DEV_IOTLB_MAX_INVS is sent as 0)
  s.push_back({"devtlb_4k", {{"type", "dev_tlb_inv"}, {"sid", 0x100}, {"pfsid", 0x1234}, {"addr", "0x200000"}},
               {QI_DEV_IOTLB_SID(0x100) | QI_DEV_IOTLB_QDEP(QI_DEV_IOTLB_MAX_INVS) | QI_DIOTLB_TYPE | QI_DEV_IOTLB_PFSID(0x1234),
                QI_DEV_IOTLB_ADDR(0x200000)}});
  s.push_back({"devtlb_all",
               {{"type", "dev_tlb_inv"}, {"sid", 0x0a10}, {"mip", 31}, {"s", true}, {"addr", "0x7ffffffffffff000"}},
               {QI_DEV_IOTLB_SID(0x0a10) | QI_DEV_IOTLB_QDEP(31) | QI_DIOTLB_TYPE,
                QI_DEV_IOTLB_ADDR(0x7ffffffffffff000) | QI_DEV_IOTLB_SIZE}});
  // iec_inv: qi_global_iec, qi_flush_iec
  s.push_back({"iec_global", {{"type", "iec_inv"}, {"granularity", "global"}}, {QI_IEC_TYPE, 0}});
  s.push_back({"iec_index", {{"type", "iec_inv"}, {"granularity", "index"}, {"iidx", 0xfff0}, {"im", 4}},
               {QI_IEC_IIDEX(0xfff0) | QI_IEC_IM(4) | QI_IEC_SELECTIVE | QI_IEC_TYPE, 0}});
  // inv_wait: qi_submit_sync's trailing wait, the PRQ-drain fence, interrupt completion
  s.push_back({"wait_sw",
               {{"type", "inv_wait"}, {"sw", true}, {"status_data", 2}, {"status_addr", "0x12345678"}},
               {QI_IWD_STATUS_DATA(QI_DONE) | QI_IWD_STATUS_WRITE | QI_IWD_TYPE, 0x12345678}});
  s.push_back({"wait_sw_pd",
               {{"type", "inv_wait"}, {"sw", true}, {"pd", true}, {"status_data", 2}, {"status_addr", "0xfffffffffffffffc"}},
               {QI_IWD_STATUS_DATA(QI_DONE) | QI_IWD_STATUS_WRITE | QI_IWD_PRQ_DRAIN | QI_IWD_TYPE, 0xfffffffffffffffc}});
  s.push_back({"wait_fence", {{"type", "inv_wait"}, {"fn", true}}, {QI_IWD_TYPE | QI_IWD_FENCE, 0}});
  s.push_back({"wait_if_sw",
               {{"type", "inv_wait"}, {"if", true}, {"sw", true}, {"status_data", "0xffffffff"}, {"status_addr", "0x1000"}},
               {QI_IWD_STATUS_DATA(0xffffffff) | QI_IWD_STATUS_WRITE | qemu::VTD_INV_DESC_WAIT_IF | QI_IWD_TYPE, 0x1000}});
  // p_iotlb_inv: qi_desc_piotlb_all, qi_desc_piotlb
  s.push_back({"piotlb_pasid", {{"type", "p_iotlb_inv"}, {"granularity", "pasid"}, {"did", 1}, {"pasid", 0xfffff}},
               {QI_EIOTLB_PASID(0xfffff) | QI_EIOTLB_DID(1) | QI_EIOTLB_GRAN(QI_GRAN_NONG_PASID) | QI_EIOTLB_TYPE, 0}});
  s.push_back({"piotlb_psi",
               {{"type", "p_iotlb_inv"}, {"granularity", "psi"}, {"did", 3}, {"pasid", 5}, {"addr", "0x7f0000200000"},
                {"am", 9}, {"ih", true}},
               {QI_EIOTLB_PASID(5) | QI_EIOTLB_DID(3) | QI_EIOTLB_GRAN(QI_GRAN_PSI_PASID) | QI_EIOTLB_TYPE,
                QI_EIOTLB_ADDR(0x7f0000200000) | QI_EIOTLB_IH(1) | QI_EIOTLB_AM(9)}});
  // pc_inv: qi_flush_pasid_cache
  s.push_back({"pc_domain", {{"type", "pc_inv"}, {"granularity", "domain"}, {"did", 9}},
               {QI_PC_DID(9) | QI_PC_GRAN(QI_PC_ALL_PASIDS) | QI_PC_PASID(0) | QI_PC_TYPE, 0}});
  s.push_back({"pc_pasid", {{"type", "pc_inv"}, {"granularity", "pasid"}, {"did", 9}, {"pasid", 0x99}},
               {QI_PC_DID(9) | QI_PC_GRAN(QI_PC_PASID_SEL) | QI_PC_PASID(0x99) | QI_PC_TYPE, 0}});
  s.push_back({"pc_global", {{"type", "pc_inv"}, {"granularity", "global"}}, {QI_PC_GRAN(QI_PC_GLOBAL) | QI_PC_TYPE, 0}});
  // p_dev_tlb_inv: qi_desc_dev_iotlb_pasid; whole range = ADDR[63:12] 0x7FFFFFFFFFFFF (VTD-DESC-4)
  s.push_back({"pdevtlb_4k",
               {{"type", "p_dev_tlb_inv"}, {"sid", 0x100}, {"pasid", 5}, {"pfsid", 0xabcd}, {"mip", 16}, {"addr", "0x200000"}},
               {QI_DEV_EIOTLB_PASID(5) | QI_DEV_EIOTLB_SID(0x100) | QI_DEV_EIOTLB_QDEP(16) | QI_DEIOTLB_TYPE |
                    QI_DEV_EIOTLB_PFSID(0xabcd),
                QI_DEV_EIOTLB_ADDR(0x200000)}});
  s.push_back({"pdevtlb_all",
               {{"type", "p_dev_tlb_inv"}, {"sid", 0x100}, {"pasid", 5}, {"s", true}, {"addr", "0x7ffffffffffff000"}},
               {QI_DEV_EIOTLB_PASID(5) | QI_DEV_EIOTLB_SID(0x100) | QI_DEIOTLB_TYPE,
                QI_DEV_EIOTLB_ADDR(0x7ffffffffffff000) | QI_DEV_EIOTLB_SIZE}});
  s.push_back({"pdevtlb_global", {{"type", "p_dev_tlb_inv"}, {"sid", 0x100}, {"pasid", 0}, {"g", true}, {"addr", "0x0"}},
               {QI_DEV_EIOTLB_SID(0x100) | QI_DEIOTLB_TYPE, QI_DEV_IOTLB_GRAN_ALL}});
  // page_grp_resp: intel_iommu_page_response before v6.18 (with LPIG) and after (without), and
  // handle_bad_prq_event's answers to a request without PASID and to a broken one.
  s.push_back({"pgrp_success_lpig",
               {{"type", "page_grp_resp"}, {"rid", "0x100"}, {"pp", true}, {"pasid", 5}, {"rc", "success"}, {"prgi", 3},
                {"lpig", true}},
               {QI_PGRP_PASID(5) | QI_PGRP_DID(0x100) | QI_PGRP_PASID_P(1) | QI_PGRP_RESP_CODE(QI_RESP_SUCCESS) |
                    QI_PGRP_RESP_TYPE,
                QI_PGRP_IDX(3) | QI_PGRP_LPIG(1)}});
  s.push_back({"pgrp_success",
               {{"type", "page_grp_resp"}, {"rid", "0xff07"}, {"pp", true}, {"pasid", "0xfffff"}, {"rc", 0}, {"prgi", 511}},
               {QI_PGRP_PASID(0xfffff) | QI_PGRP_DID(0xff07) | QI_PGRP_PASID_P(1) | QI_PGRP_RESP_CODE(QI_RESP_SUCCESS) |
                    QI_PGRP_RESP_TYPE,
                QI_PGRP_IDX(511)}});
  s.push_back({"pgrp_invalid_no_pasid",
               {{"type", "page_grp_resp"}, {"rid", 0x0a10}, {"rc", "invalid_request"}, {"prgi", 0}, {"lpig", true}},
               {QI_PGRP_DID(0x0a10) | QI_PGRP_RESP_CODE(QI_RESP_INVALID) | QI_PGRP_RESP_TYPE, QI_PGRP_LPIG(1)}});
  s.push_back({"pgrp_failure",
               {{"type", "page_grp_resp"}, {"rid", 1}, {"pp", true}, {"pasid", 1}, {"rc", "response_failure"}, {"prgi", 256}},
               {QI_PGRP_PASID(1) | QI_PGRP_DID(1) | QI_PGRP_PASID_P(1) | QI_PGRP_RESP_CODE(QI_RESP_FAILURE) | QI_PGRP_RESP_TYPE,
                QI_PGRP_IDX(256)}});
  return s;
}

/// The ScenarioError of `f` (fails the test if there is none).
ScenarioError error_of(const std::function<void()> & f)
{
  try {
    f();
  } catch (const ScenarioError & e) {
    return e;
  }
  ADD_FAILURE() << "no ScenarioError thrown";
  return ScenarioError("", "");
}

ScenarioError raw_error(const Words & w) { return error_of([&] { decode_raw(w, kPath); }); }
ScenarioError json_error(const json & j) { return error_of([&] { decode_json(j, kPath); }); }

bool contains(const std::string & s, const std::string & part) { return s.find(part) != std::string::npos; }

/// The name of the field holding bit `bit` of word `word`.
FieldInfo field_at(Type t, unsigned word, unsigned bit)
{
  for (const FieldInfo & f : fields(t))
    if (f.word == word && f.lo <= bit && bit <= f.hi) return f;
  ADD_FAILURE() << "no field at qw" << word << "[" << bit << "]";
  return {"", 0, 0, 0};
}

std::string range(const FieldInfo & f)
{
  return "qw" + std::to_string(f.word) + "[" + std::to_string(f.hi) + (f.hi == f.lo ? "" : ":" + std::to_string(f.lo)) + "]";
}

const Type kTypes[] = {Type::CcInv,   Type::IotlbInv,  Type::DevTlbInv, Type::IecInv,     Type::InvWait,
                       Type::PIotlbInv, Type::PcInv,   Type::PDevTlbInv, Type::PageGrpResp};
constexpr unsigned kTypeCount = sizeof kTypes / sizeof kTypes[0];

}  // namespace

// ---- both forms, round trips ------------------------------------------------------------------

TEST(VtdDescriptor, SamplesCoverEveryType)
{
  unsigned seen = 0;
  for (const Sample & s : samples()) seen |= 1u << static_cast<unsigned>(decode_raw(s.w, kPath).type());
  for (Type t : kTypes) EXPECT_TRUE(seen & (1u << static_cast<unsigned>(t))) << type_name(t);
}

TEST(VtdDescriptor, JsonAndRawFormsAgree)
{
  for (const Sample & s : samples()) {
    SCOPED_TRACE(s.name);
    Descriptor from_raw = decode_raw(s.w, kPath);
    Descriptor from_json = decode_json(s.j, kPath);
    EXPECT_EQ(from_raw, from_json) << describe(from_raw) << " vs " << describe(from_json);
    EXPECT_EQ(encode_raw(from_json), s.w);
    EXPECT_STREQ(type_name(from_raw.type()), s.j["type"].get<std::string>().c_str());
  }
}

TEST(VtdDescriptor, RawRoundTripIsExact)
{
  for (const Sample & s : samples()) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(encode_raw(decode_raw(s.w, kPath)), s.w);
    Words wide = s.w;
    wide.insert(wide.end(), {0, 0});
    Descriptor d = decode_raw(wide, kPath);
    EXPECT_TRUE(d.wide);
    EXPECT_EQ(encode_raw(d), wide);
  }
}

TEST(VtdDescriptor, JsonRoundTripIsExact)
{
  for (const Sample & s : samples()) {
    SCOPED_TRACE(s.name);
    Descriptor d = decode_raw(s.w, kPath);
    json j = to_json(d);
    EXPECT_EQ(decode_json(j, kPath), d) << j.dump();
    // The 256-bit form carries "width": 256.
    json jw = s.j;
    jw["width"] = 256;
    Descriptor dw = decode_json(jw, kPath);
    EXPECT_TRUE(dw.wide);
    EXPECT_EQ(to_json(dw)["width"], 256);
    EXPECT_EQ(decode_json(to_json(dw), kPath), dw);
    Words ww = s.w;
    ww.insert(ww.end(), {0, 0});
    EXPECT_EQ(encode_raw(dw), ww);
  }
}

TEST(VtdDescriptor, ToJsonWritesTheFieldsTheGranularityUses)
{
  json j = to_json(decode_raw(samples()[5].w, kPath));  // iotlb_psi
  EXPECT_EQ(j, json::parse(R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "addr": "0x200000", "am": 0,
                               "ih": false, "dr": true, "dw": true})"));
  EXPECT_EQ(to_json(decode_raw({0x11, 0}, kPath)), json::parse(R"({"type": "cc_inv", "granularity": "global"})"));
  EXPECT_EQ(to_json(decode_raw({0x45, 0}, kPath)),
            json::parse(R"({"type": "inv_wait", "sw": false, "if": false, "fn": true, "pd": false})"));
}

TEST(VtdDescriptor, FieldsTheGranularityIgnoresStillRoundTrip)
{
  // A global IOTLB flush ignores DID, ADDR, AM and IH, but they are not reserved: they survive
  // both round trips, and to_json writes them because they are non-zero.
  const Words w = {(u64{0x1234} << 16) | 0x12, 0xdead000 | (1 << 6) | 63};
  Descriptor d = decode_raw(w, kPath);
  EXPECT_EQ(encode_raw(d), w);
  json j = to_json(d);
  EXPECT_EQ(j["did"], 0x1234);
  EXPECT_EQ(j["am"], 63);  // AM > 51 is only an error for PSI
  EXPECT_EQ(decode_json(j, kPath), d);
  // Same for a PASID-selective p_iotlb_inv with leftover ADDR bits, and a global pc_inv.
  for (const Words & v : {Words{(u64{5} << 32) | (u64{1} << 16) | 0x26, 0x1000}, Words{(u64{7} << 32) | (u64{3} << 16) | 0x37, 0}}) {
    Descriptor e = decode_raw(v, kPath);
    EXPECT_EQ(encode_raw(e), v);
    EXPECT_EQ(decode_json(to_json(e), kPath), e) << to_json(e).dump();
  }
}

TEST(VtdDescriptor, NumbersAndGranularitiesAcceptBothNotations)
{
  Descriptor a = decode_json(json::parse(R"({"type": "iotlb_inv", "granularity": 3, "did": "0x1", "addr": 2097152, "am": "0x0"})"), kPath);
  Descriptor b = decode_json(json::parse(R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "addr": "0x200000", "am": 0})"), kPath);
  EXPECT_EQ(a, b);
  EXPECT_EQ(decode_json(json::parse(R"({"type": "pc_inv", "granularity": 0, "did": 2})"), kPath),
            decode_json(json::parse(R"({"type": "pc_inv", "granularity": "domain", "did": 2})"), kPath));
}

TEST(VtdDescriptor, RandomValidWordsRoundTrip)
{
  // Random contents with the reserved bits cleared: whatever decodes must encode back exactly
  // and survive the JSON form; whatever does not must fail with a ScenarioError (granularity,
  // alignment, empty wait), never anything else.
  std::mt19937_64 rng(20240917);
  unsigned decoded = 0, rejected = 0;
  for (int i = 0; i < 200000; ++i) {
    Type t = kTypes[rng() % kTypeCount];
    const unsigned code = static_cast<unsigned>(t);
    Words w = {rng(), rng()};
    // Small AM values and low addresses are the interesting ones for PSI alignment.
    if (rng() % 2) w[1] &= 0xfff | (rng() % 2 ? 0xfff000 : 0);
    if (rng() % 2) w[1] = (w[1] & ~u64{0x3f}) | (rng() % 12);
    w[0] = (w[0] & ~reserved_mask(t, 0) & ~u64{0xe0f}) | code;
    w[1] &= ~reserved_mask(t, 1);
    if (rng() % 4 == 0) w.insert(w.end(), {0, 0});
    try {
      Descriptor d = decode_raw(w, kPath);
      ++decoded;
      ASSERT_EQ(d.type(), t);
      ASSERT_EQ(encode_raw(d), w) << describe(d);
      ASSERT_EQ(decode_json(to_json(d), kPath), d) << to_json(d).dump();
      ASSERT_FALSE(describe(d).empty());
    } catch (const ScenarioError & e) {
      ++rejected;
      ASSERT_EQ(e.where(), kPath);
    }
  }
  EXPECT_GT(decoded, 100000u);
  EXPECT_GT(rejected, 1000u);
}

// ---- layouts and reserved bits ---------------------------------------------------------------

TEST(VtdDescriptor, LayoutsCoverEveryBitOnce)
{
  for (Type t : kTypes) {
    SCOPED_TRACE(type_name(t));
    u64 seen[2] = {0, 0}, reserved[2] = {0, 0};
    bool type_lo = false, type_hi = false;
    for (const FieldInfo & f : fields(t)) {
      ASSERT_LT(f.word, 2u);
      ASSERT_LE(f.lo, f.hi);
      ASSERT_LE(f.hi, 63u);
      u64 m = (f.hi - f.lo == 63 ? ~u64{0} : ((u64{1} << (f.hi - f.lo + 1)) - 1)) << f.lo;
      EXPECT_EQ(seen[f.word] & m, 0u) << f.name << " overlaps";
      seen[f.word] |= m;
      if (std::string(f.name) == "reserved") reserved[f.word] |= m;
      type_lo |= std::string(f.name) == "type[3:0]" && f.word == 0 && f.hi == 3 && f.lo == 0;
      type_hi |= std::string(f.name) == "type[6:4]" && f.word == 0 && f.hi == 11 && f.lo == 9;
    }
    EXPECT_EQ(seen[0], ~u64{0});
    EXPECT_EQ(seen[1], ~u64{0});
    EXPECT_TRUE(type_lo && type_hi);
    EXPECT_EQ(reserved_mask(t, 0), reserved[0]);
    EXPECT_EQ(reserved_mask(t, 1), reserved[1]);
    EXPECT_EQ(reserved_mask(t, 2), ~u64{0});
    EXPECT_EQ(reserved_mask(t, 3), ~u64{0});
    // The type field is never "reserved" (QEMU fixed that in 2024, see DESCRIPTORS.md).
    EXPECT_EQ(reserved_mask(t, 0) & 0xe0f, 0u);
  }
}

TEST(VtdDescriptor, ReservedMasksAreQemus)
{
  using namespace qemu;
  EXPECT_EQ(reserved_mask(Type::CcInv, 0), VTD_INV_DESC_CC_RSVD);
  EXPECT_EQ(reserved_mask(Type::CcInv, 1), VTD_INV_DESC_ALL_ONE);
  EXPECT_EQ(reserved_mask(Type::IotlbInv, 0), VTD_INV_DESC_IOTLB_RSVD_LO);
  EXPECT_EQ(reserved_mask(Type::IotlbInv, 1), VTD_INV_DESC_IOTLB_RSVD_HI);
  // Deviation: PFSID (Linux QI_DEV_IOTLB_PFSID) is a field, QEMU reserves it (no ECAP.DIT).
  EXPECT_EQ(reserved_mask(Type::DevTlbInv, 0), VTD_INV_DESC_DEVICE_IOTLB_RSVD_LO & ~kPfsidBits);
  EXPECT_EQ(reserved_mask(Type::DevTlbInv, 1), VTD_INV_DESC_DEVICE_IOTLB_RSVD_HI);
  EXPECT_EQ(reserved_mask(Type::IecInv, 0), VTD_INV_DESC_IEC_RSVD);
  EXPECT_EQ(reserved_mask(Type::IecInv, 1), VTD_INV_DESC_ALL_ONE);
  // PD (bit 7) is a field: QEMU reserves it only without ECAP.PDS.
  EXPECT_EQ(reserved_mask(Type::InvWait, 0), VTD_INV_DESC_WAIT_RSVD_LO_PDS);
  EXPECT_EQ(reserved_mask(Type::InvWait, 1), VTD_INV_DESC_WAIT_RSVD_HI);
  EXPECT_EQ(reserved_mask(Type::PIotlbInv, 0), VTD_INV_DESC_PIOTLB_RSVD_VAL0);
  EXPECT_EQ(reserved_mask(Type::PIotlbInv, 1), VTD_INV_DESC_PIOTLB_RSVD_VAL1);
  EXPECT_EQ(reserved_mask(Type::PcInv, 0), VTD_INV_DESC_PASIDC_RSVD_VAL0);
  EXPECT_EQ(reserved_mask(Type::PcInv, 1), VTD_INV_DESC_ALL_ONE);
  EXPECT_EQ(reserved_mask(Type::PDevTlbInv, 0), VTD_INV_DESC_PASID_DEVICE_IOTLB_RSVD_VAL0 & ~kPfsidBits);
  EXPECT_EQ(reserved_mask(Type::PDevTlbInv, 1), VTD_INV_DESC_PASID_DEVICE_IOTLB_RSVD_VAL1);
  // PDP (qw0[5]) is reserved, as in QEMU; LPIG (qw1[2]) is a field, as in QEMU.
  EXPECT_EQ(reserved_mask(Type::PageGrpResp, 0), VTD_INV_DESC_PGRESP_RSVD_LO);
  EXPECT_EQ(reserved_mask(Type::PageGrpResp, 1), VTD_INV_DESC_PGRESP_RSVD_HI);
}

TEST(VtdDescriptor, EveryReservedBitIsRejectedNamingPathAndRange)
{
  unsigned checked = 0;
  for (const Sample & s : samples()) {
    const Type t = decode_raw(s.w, kPath).type();
    for (unsigned word = 0; word < 2; ++word)
      for (unsigned bit = 0; bit < 64; ++bit) {
        if (!(reserved_mask(t, word) >> bit & 1)) continue;
        Words w = s.w;
        w[word] |= u64{1} << bit;
        ScenarioError e = raw_error(w);
        const std::string r = range(field_at(t, word, bit));
        EXPECT_EQ(e.where(), kPath);
        EXPECT_TRUE(contains(e.what(), type_name(t))) << e.what();
        EXPECT_TRUE(contains(e.what(), "reserved field " + r)) << s.name << " bit " << bit << ": " << e.what();
        ++checked;
      }
  }
  EXPECT_GT(checked, 1000u);
  // Several fields at once are all named.
  ScenarioError e = raw_error({0x12 | (u64{1} << 8) | (u64{1} << 40), u64{1} << 7});
  EXPECT_TRUE(contains(e.what(), "reserved fields qw0[8] = 0x1, qw0[63:32] = 0x100, qw1[11:7] = 0x1")) << e.what();
}

TEST(VtdDescriptor, NonFieldBitsOfEveryTypeAreRejected)
{
  // The bits each type's spec table leaves reserved, spelled out (so a layout typo in the
  // shared table cannot hide behind the loop above).
  struct Case {
    Words w;
    const char * range;
  };
  const Case cases[] = {
      {{0x11 | (u64{1} << 6), 0}, "qw0[8:6]"},        {{0x11 | (u64{1} << 12), 0}, "qw0[15:12]"},
      {{0x11 | (u64{1} << 50), 0}, "qw0[63:50]"},     {{0x11, 1}, "qw1[63:0]"},
      {{0x12 | (u64{1} << 8), 0}, "qw0[8]"},          {{0x12 | (u64{1} << 15), 0}, "qw0[15:12]"},
      {{0x12 | (u64{1} << 32), 0}, "qw0[63:32]"},     {{0x12, u64{1} << 11}, "qw1[11:7]"},
      {{0x3 | (u64{1} << 4), 0}, "qw0[8:4]"},         {{0x3 | (u64{1} << 21), 0}, "qw0[31:21]"},
      {{0x3 | (u64{1} << 48), 0}, "qw0[51:48]"},      {{0x3, 2}, "qw1[11:1]"},
      {{0x4 | (u64{1} << 5), 0}, "qw0[8:5]"},         {{0x4 | (u64{1} << 26), 0}, "qw0[26:12]"},
      {{0x4 | (u64{1} << 63), 0}, "qw0[63:48]"},      {{0x4, u64{1} << 63}, "qw1[63:0]"},
      {{0x65 | (u64{1} << 8), 0}, "qw0[8]"},          {{0x65 | (u64{1} << 31), 0}, "qw0[31:12]"},
      {{0x65, 2}, "qw1[1:0]"},                        {{0x65, 1}, "qw1[1:0]"},
      {{0x26 | (u64{1} << 7), 0}, "qw0[8:6]"},        {{0x26 | (u64{1} << 13), 0}, "qw0[15:12]"},
      {{0x26 | (u64{1} << 52), 0}, "qw0[63:52]"},     {{0x26, u64{1} << 9}, "qw1[11:7]"},
      {{0x37 | (u64{1} << 8), 0}, "qw0[8:6]"},        {{0x37 | (u64{1} << 14), 0}, "qw0[15:12]"},
      {{0x37 | (u64{1} << 60), 0}, "qw0[63:52]"},     {{0x37, u64{1} << 12}, "qw1[63:0]"},
      {{0x8, 2}, "qw1[10:1]"},                        {{0x8, u64{1} << 10}, "qw1[10:1]"},
      {{0x9 | (u64{1} << 5), 0}, "qw0[5]"},           {{0x9 | (u64{1} << 8), 0}, "qw0[8:6]"},
      {{0x9 | (u64{1} << 52), 0}, "qw0[63:52]"},      {{0x9, 1}, "qw1[1:0]"},
      {{0x9, u64{1} << 12}, "qw1[63:12]"},            {{0x9, u64{1} << 63}, "qw1[63:12]"},
  };
  for (const Case & c : cases) {
    ScenarioError e = raw_error(c.w);
    EXPECT_EQ(e.where(), kPath);
    EXPECT_TRUE(contains(e.what(), std::string("reserved field ") + c.range)) << c.range << ": " << e.what();
  }
}

TEST(VtdDescriptor, UpperHalfOfA256BitDescriptorMustBeZero)
{
  for (const Sample & s : samples()) {
    SCOPED_TRACE(s.name);
    for (unsigned word = 2; word < 4; ++word)
      for (unsigned bit : {0u, 31u, 63u}) {
        Words w = s.w;
        w.insert(w.end(), {0, 0});
        w[word] = u64{1} << bit;
        ScenarioError e = raw_error(w);
        EXPECT_EQ(e.where(), kPath);
        EXPECT_TRUE(contains(e.what(), "reserved field qw" + std::to_string(word) + "[63:0]")) << e.what();
      }
  }
}

TEST(VtdDescriptor, WordCountIsTwoOrFour)
{
  for (std::size_t n : {0u, 1u, 3u, 5u, 8u}) {
    ScenarioError e = raw_error(Words(n, 0x12));
    EXPECT_EQ(e.where(), kPath);
    EXPECT_TRUE(contains(e.what(), "2 (128-bit) or 4 (256-bit)")) << e.what();
  }
}

TEST(VtdDescriptor, UnknownTypesAreRejected)
{
  for (u64 q0 : {u64{0x0}, u64{0xa}, u64{0xf}, u64{0x202}, u64{0x201}, u64{0xe05}, u64{0x400}, u64{0x209}}) {
    ScenarioError e = raw_error({q0, 0});
    EXPECT_EQ(e.where(), kPath);
    EXPECT_TRUE(contains(e.what(), "unknown descriptor type")) << e.what();
    EXPECT_TRUE(contains(e.what(), "decoded: 0x1..0x9")) << e.what();
  }
  EXPECT_TRUE(contains(raw_error({0x202, 0}).what(), "type 0x12")) << raw_error({0x202, 0}).what();
  EXPECT_TRUE(contains(raw_error({0xa, 0}).what(), "page-stream response"));
  // 0x9 is page_grp_resp; type[6:4] = 1 makes it 0x19, still unknown.
  EXPECT_EQ(decode_raw({0x9, 0}, kPath).type(), Type::PageGrpResp);
  EXPECT_TRUE(contains(raw_error({0x209, 0}).what(), "type 0x19")) << raw_error({0x209, 0}).what();
  ScenarioError j = json_error({{"type", "page_strm_resp"}});
  EXPECT_EQ(j.where(), kPath + "/type");
  EXPECT_TRUE(contains(j.what(), "unknown descriptor type 'page_strm_resp'")) << j.what();
  EXPECT_TRUE(contains(j.what(), "p_dev_tlb_inv, page_grp_resp)")) << j.what();
  EXPECT_EQ(json_error({{"granularity", "global"}}).where(), kPath + "/type");
  EXPECT_EQ(json_error({{"type", 2}}).where(), kPath + "/type");
}

TEST(VtdDescriptor, InvalidGranularityEncodingsAreRejected)
{
  const Words bad[] = {{0x01, 0}, {0x02, 0}, {0x06, 0}, {0x16, 0}, {0x27, 0}};
  for (const Words & w : bad) {
    ScenarioError e = raw_error(w);
    EXPECT_EQ(e.where(), kPath);
    EXPECT_TRUE(contains(e.what(), "invalid granularity G qw0[5:4] = ")) << e.what();
  }
  EXPECT_TRUE(contains(raw_error({0x27, 0}).what(), "pc_inv"));
  // Every valid encoding decodes.
  for (u64 q0 : {u64{0x11}, u64{0x21}, u64{0x31}, u64{0x12}, u64{0x22}, u64{0x04}, u64{0x14}, u64{0x26}, u64{0x07},
                 u64{0x17}, u64{0x37}})
    EXPECT_NO_THROW(decode_raw({q0, 0}, kPath)) << std::hex << q0;
  // JSON: unknown names, and encodings that are not valid for the type.
  ScenarioError a = json_error({{"type", "iotlb_inv"}, {"granularity", "page"}});
  EXPECT_EQ(a.where(), kPath + "/granularity");
  EXPECT_TRUE(contains(a.what(), "global = 1, dsi = 2, psi = 3")) << a.what();
  EXPECT_EQ(json_error({{"type", "pc_inv"}, {"granularity", 2}, {"did", 1}}).where(), kPath + "/granularity");
  EXPECT_EQ(json_error({{"type", "p_iotlb_inv"}, {"granularity", "global"}, {"did", 1}, {"pasid", 1}}).where(),
            kPath + "/granularity");
  EXPECT_EQ(json_error({{"type", "cc_inv"}, {"granularity", 0}}).where(), kPath + "/granularity");
  EXPECT_EQ(json_error({{"type", "cc_inv"}}).where(), kPath + "/granularity");
}

TEST(VtdDescriptor, PageSelectiveAddressNeedNotBeAlignedToTheMask)
{
  // Hardware masks the low AM bits of ADDR (VTD-DESC-7): an unaligned address is a descriptor it
  // accepts, so decoding keeps it as written (the profile decodes the block, vtd_profile_test).
  Descriptor d = decode_raw({0x10032, 0x201000 | 1}, kPath);
  EXPECT_EQ(std::get<IotlbInv>(d.body).addr, 0x201000u);
  EXPECT_EQ(std::get<IotlbInv>(d.body).am, 1u);
  EXPECT_NO_THROW(decode_raw({0x10036, 0x200000 | 10}, kPath));
  EXPECT_NO_THROW(decode_json(
      {{"type", "p_iotlb_inv"}, {"granularity", "psi"}, {"did", 1}, {"pasid", 1}, {"addr", "0x200000"}, {"am", 10}},
      kPath));
  // Every AM the 6-bit field holds decodes (above MAMV is the profile's matter, VTD-DESC-9) ...
  EXPECT_EQ(std::get<IotlbInv>(decode_raw({0x10032, 63}, kPath).body).am, 63u);
  // ... but a value the field cannot hold is bad input, and so are ADDR bits 11:0 in the
  // readable form (the descriptor holds ADDR[63:12] only).
  EXPECT_EQ(json_error({{"type", "iotlb_inv"}, {"granularity", "psi"}, {"did", 1}, {"addr", 0}, {"am", 64}}).where(), kPath + "/am");
  EXPECT_EQ(json_error({{"type", "iotlb_inv"}, {"granularity", "psi"}, {"did", 1}, {"addr", "0x1800"}, {"am", 0}}).where(),
            kPath + "/addr");
}

TEST(VtdDescriptor, WaitDescriptorMustAskForSomething)
{
  ScenarioError e = raw_error({0x5, 0});
  EXPECT_EQ(e.where(), kPath);
  EXPECT_TRUE(contains(e.what(), "none of SW, IF, FN")) << e.what();
  EXPECT_TRUE(contains(raw_error({0x85, 0}).what(), "none of SW, IF, FN"));  // PD alone
  EXPECT_EQ(json_error({{"type", "inv_wait"}, {"pd", true}}).where(), kPath + "/sw");
  EXPECT_NO_THROW(decode_raw({0x15, 0}, kPath));  // IF alone
}

// ---- JSON strictness -------------------------------------------------------------------------

TEST(VtdDescriptor, JsonIsStrict)
{
  struct Case {
    const char * text;
    const char * where;  // relative to kPath
    const char * message;
  };
  const Case cases[] = {
      {R"([1, 2])", "", "expected a descriptor object"},
      {R"({"type": "cc_inv", "granularity": "global", "domain": 1})", "/domain", "unknown key 'domain'"},
      {R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "am": 0})", "/addr", "missing required key 'addr'"},
      {R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "addr": "0x1000"})", "/am", "missing required key 'am'"},
      {R"({"type": "iotlb_inv", "granularity": "dsi"})", "/did", "missing required key 'did'"},
      {R"({"type": "cc_inv", "granularity": "device", "did": 1})", "/sid", "missing required key 'sid'"},
      {R"({"type": "iotlb_inv", "granularity": "dsi", "did": 65536})", "/did", "does not fit in 16 bits"},
      {R"({"type": "iotlb_inv", "granularity": "dsi", "did": -1})", "/did", "non-negative"},
      {R"({"type": "iotlb_inv", "granularity": "dsi", "did": 1, "dr": 1})", "/dr", "expected true or false"},
      {R"({"type": "cc_inv", "granularity": "device", "did": 1, "sid": 1, "fm": 4})", "/fm", "does not fit in 2 bits"},
      {R"({"type": "pc_inv", "granularity": "pasid", "did": 1, "pasid": "0x100000"})", "/pasid", "does not fit in 20 bits"},
      {R"({"type": "pc_inv", "granularity": "pasid", "did": 1})", "/pasid", "missing required key 'pasid'"},
      {R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "addr": "0x200800", "am": 0})", "/addr", "must be aligned to 0x1000"},
      {R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "addr": "0x2zz", "am": 0})", "/addr", "hex string"},
      {R"({"type": "dev_tlb_inv", "sid": 1})", "/addr", "missing required key 'addr'"},
      {R"({"type": "dev_tlb_inv", "sid": 1, "addr": 0, "mip": 32})", "/mip", "does not fit in 5 bits"},
      {R"({"type": "dev_tlb_inv", "sid": 1, "addr": 0, "pasid": 1})", "/pasid", "unknown key 'pasid'"},
      {R"({"type": "iec_inv", "granularity": "index", "im": 1})", "/iidx", "missing required key 'iidx'"},
      {R"({"type": "iec_inv", "granularity": "index", "iidx": 1, "im": 32})", "/im", "does not fit in 5 bits"},
      {R"({"type": "inv_wait", "sw": true})", "/status_addr", "missing required key 'status_addr'"},
      {R"({"type": "inv_wait", "sw": true, "status_addr": "0x1002"})", "/status_addr", "must be aligned to 0x4"},
      {R"({"type": "inv_wait", "sw": true, "status_addr": 0, "status_data": "0x100000000"})", "/status_data", "32 bits"},
      {R"({"type": "inv_wait", "fn": true, "granularity": "global"})", "/granularity", "unknown key"},
      {R"({"type": "p_dev_tlb_inv", "sid": 1, "addr": 0})", "/pasid", "missing required key 'pasid'"},
      {R"({"type": "p_dev_tlb_inv", "sid": 1, "pasid": 1, "addr": 0, "g": "yes"})", "/g", "expected true or false"},
      {R"({"type": "p_iotlb_inv", "granularity": "pasid", "pasid": 1})", "/did", "missing required key 'did'"},
      {R"({"type": "pc_inv", "granularity": "global", "width": 512})", "/width", "128 or 256"},
      {R"({"type": "page_grp_resp", "rc": 0, "prgi": 1})", "/rid", "missing required key 'rid'"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": 0})", "/prgi", "missing required key 'prgi'"},
      {R"({"type": "page_grp_resp", "rid": 1, "prgi": 1})", "/rc", "missing required key 'rc'"},
      {R"({"type": "page_grp_resp", "rid": 1, "pp": true, "rc": 0, "prgi": 1})", "/pasid", "missing required key 'pasid'"},
      {R"({"type": "page_grp_resp", "rid": "0x10000", "rc": 0, "prgi": 1})", "/rid", "does not fit in 16 bits"},
      {R"({"type": "page_grp_resp", "rid": 1, "pp": true, "pasid": "0x100000", "rc": 0, "prgi": 1})", "/pasid", "does not fit in 20 bits"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": 0, "prgi": 512})", "/prgi", "does not fit in 9 bits"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": 16, "prgi": 1})", "/rc", "does not fit in 4 bits"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": "ok", "prgi": 1})", "/rc", "unknown response code 'ok' (success = 0"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": -1, "prgi": 1})", "/rc", "non-negative"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": 0, "prgi": 1, "lpig": 1})", "/lpig", "expected true or false"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": 0, "prgi": 1, "pp": "yes"})", "/pp", "expected true or false"},
      {R"({"type": "page_grp_resp", "rid": 1, "rc": 0, "prgi": 1, "pdp": true})", "/pdp", "unknown key 'pdp'"},
  };
  for (const Case & c : cases) {
    ScenarioError e = json_error(json::parse(c.text));
    EXPECT_EQ(e.where(), kPath + c.where) << c.text;
    EXPECT_TRUE(contains(e.what(), c.message)) << c.text << ": " << e.what();
  }
}

TEST(VtdDescriptor, JsonDefaults)
{
  // Flags default to false, fm/im/mip/pfsid/status_data to 0, width to 128.
  Descriptor d = decode_json(json::parse(R"({"type": "cc_inv", "granularity": "device", "did": 1, "sid": 2})"), kPath);
  EXPECT_EQ(encode_raw(d), (Words{(u64{2} << 32) | (u64{1} << 16) | 0x31, 0}));
  Descriptor p = decode_json(json::parse(R"({"type": "p_dev_tlb_inv", "sid": 1, "pasid": 2, "addr": "0x3000"})"), kPath);
  EXPECT_EQ(p, (Descriptor{PDevTlbInv{0, 0, 1, 2, false, false, 0x3000}, false}));
  Descriptor w = decode_json(json::parse(R"({"type": "inv_wait", "if": true})"), kPath);
  EXPECT_EQ(encode_raw(w), (Words{0x15, 0}));
}

// ---- Linux / QEMU constants, bit-exact -------------------------------------------------------

TEST(VtdDescriptor, LinuxMacroConstants)
{
  using namespace linux_qi;
  static_assert(QI_IOTLB_TYPE == 0x2);
  EXPECT_EQ(QI_IOTLB_GRAN(DMA_TLB_GLOBAL_FLUSH), 0x10u);
  EXPECT_EQ(QI_IOTLB_GRAN(DMA_TLB_DSI_FLUSH), 0x20u);
  EXPECT_EQ(QI_IOTLB_GRAN(DMA_TLB_PSI_FLUSH), 0x30u);
  EXPECT_EQ(QI_CC_GRAN(DMA_CCMD_GLOBAL_INVL), 0x10u);
  EXPECT_EQ(QI_CC_GRAN(DMA_CCMD_DEVICE_INVL), 0x30u);
  EXPECT_EQ(QI_IWD_STATUS_WRITE, 0x20u);

  // Encodings built by our codec equal the macro compositions.
  EXPECT_EQ(encode_raw({IotlbInv{IotlbGran::Dsi, true, true, 5, 0, 0, false}}),
            (Words{QI_IOTLB_DID(5) | QI_IOTLB_DR(1) | QI_IOTLB_DW(1) | QI_IOTLB_GRAN(DMA_TLB_DSI_FLUSH) | QI_IOTLB_TYPE, 0}));
  EXPECT_EQ(encode_raw({IotlbInv{IotlbGran::Dsi, true, true, 5, 0, 0, false}})[0], 0x500e2u);
  // qi_submit_sync's wait: status write of QI_DONE (= 2).
  Descriptor wait = decode_raw({QI_IWD_STATUS_DATA(QI_DONE) | QI_IWD_STATUS_WRITE | QI_IWD_TYPE, 0xffff8000}, kPath);
  EXPECT_EQ(encode_raw(wait)[0], 0x0000000200000025u);
  const auto & iw = std::get<InvWait>(wait.body);
  EXPECT_TRUE(iw.sw && !iw.if_ && !iw.fn && !iw.pd);
  EXPECT_EQ(iw.status_data, 2u);
  EXPECT_EQ(iw.status_addr, 0xffff8000u);
  // intel_iommu_drain_pasid_prq: [wait FN] ... [wait SW PD].
  EXPECT_EQ(encode_raw({InvWait{false, false, true, false, 0, 0}}), (Words{0x45, 0}));
  EXPECT_EQ(encode_raw({InvWait{false, true, false, true, QI_DONE, 0x1000}})[0], 0x2000000a5u);
  // qi_global_iec.
  EXPECT_EQ(decode_raw({QI_IEC_TYPE, 0}, kPath), (Descriptor{IecInv{IecGran::Global, 0, 0}}));
  // A whole-range device-TLB flush (VTD-DESC-4): ADDR[63:12] = 0x7FFFFFFFFFFFF with S.
  EXPECT_EQ(encode_raw({DevTlbInv{0x100, 0, 0, true, 0x7ffffffffffff000}})[1], 0x7ffffffffffff001u);
  EXPECT_EQ(encode_raw({PDevTlbInv{0, 0, 0x100, 1, false, true, 0x7ffffffffffff000}})[1], 0x7ffffffffffff800u);
  // PFSID halves, and MIP positions of the two device-TLB forms.
  EXPECT_EQ(QI_DEV_IOTLB_PFSID(0x1234), (u64{0x123} << 52) | 0x4000);
  EXPECT_EQ(std::get<DevTlbInv>(decode_raw({QI_DEV_IOTLB_PFSID(0x1234) | QI_DEV_IOTLB_QDEP(7) | QI_DIOTLB_TYPE, 0}, kPath).body).pfsid,
            0x1234u);
  EXPECT_EQ(std::get<PDevTlbInv>(decode_raw({QI_DEV_EIOTLB_QDEP(7) | QI_DEIOTLB_TYPE, 0}, kPath).body).mip, 7u);
  EXPECT_EQ(std::get<DevTlbInv>(decode_raw({QI_DEV_IOTLB_QDEP(7) | QI_DIOTLB_TYPE, 0}, kPath).body).mip, 7u);
  // pc_inv granularities are QI_PC_ALL_PASIDS / QI_PC_PASID_SEL / QI_PC_GLOBAL.
  EXPECT_EQ(static_cast<unsigned>(PcGran::Domain), QI_PC_ALL_PASIDS);
  EXPECT_EQ(static_cast<unsigned>(PcGran::Pasid), QI_PC_PASID_SEL);
  EXPECT_EQ(static_cast<unsigned>(PcGran::Global), QI_PC_GLOBAL);
  EXPECT_EQ(static_cast<unsigned>(PIotlbGran::Pasid), QI_GRAN_NONG_PASID);
  EXPECT_EQ(static_cast<unsigned>(PIotlbGran::Psi), QI_GRAN_PSI_PASID);
}

TEST(VtdDescriptor, TypeCodesAndQueueWidth)
{
  using namespace linux_qi;
  const u64 codes[] = {QI_CC_TYPE,     QI_IOTLB_TYPE, QI_DIOTLB_TYPE,  QI_IEC_TYPE,      QI_IWD_TYPE,
                       QI_EIOTLB_TYPE, QI_PC_TYPE,    QI_DEIOTLB_TYPE, QI_PGRP_RESP_TYPE};
  static_assert(sizeof codes / sizeof codes[0] == kTypeCount);
  for (unsigned i = 0; i < kTypeCount; ++i) EXPECT_EQ(static_cast<u64>(kTypes[i]), codes[i]);
  EXPECT_STREQ(type_name(Type::PageGrpResp), "page_grp_resp");  // the qi_submit trace label (TRACE-1)
  EXPECT_FALSE(needs_256bit_queue(Type::CcInv));
  EXPECT_FALSE(needs_256bit_queue(Type::IotlbInv));
  EXPECT_FALSE(needs_256bit_queue(Type::DevTlbInv));
  EXPECT_FALSE(needs_256bit_queue(Type::IecInv));
  EXPECT_FALSE(needs_256bit_queue(Type::InvWait));
  EXPECT_TRUE(needs_256bit_queue(Type::PIotlbInv));
  EXPECT_TRUE(needs_256bit_queue(Type::PcInv));
  EXPECT_TRUE(needs_256bit_queue(Type::PDevTlbInv));
  EXPECT_FALSE(needs_256bit_queue(Type::PageGrpResp));
}

// ---- page_grp_resp ---------------------------------------------------------------------------

TEST(VtdDescriptor, PageGroupResponseIsLinuxsEncoding)
{
  using namespace linux_qi;
  // intel_iommu_page_response (v6.18+, no LPIG): sid 0x0300, PASID 7, group 12, success.
  const Words w = {QI_PGRP_PASID(7) | QI_PGRP_DID(0x0300) | QI_PGRP_PASID_P(1) | QI_PGRP_RESP_CODE(QI_RESP_SUCCESS) |
                       QI_PGRP_RESP_TYPE,
                   QI_PGRP_IDX(12), 0, 0};
  Descriptor d = decode_raw(w, kPath);
  EXPECT_EQ(d, (Descriptor{PageGrpResp{true, 0, 0x0300, 7, false, 12}, true}));
  EXPECT_EQ(w[0], 0x0000000703000019u);
  EXPECT_EQ(encode_raw(d), w);
  EXPECT_EQ(static_cast<unsigned>(RespCode::Success), QI_RESP_SUCCESS);
  EXPECT_EQ(static_cast<unsigned>(RespCode::InvalidRequest), QI_RESP_INVALID);
  EXPECT_EQ(static_cast<unsigned>(RespCode::ResponseFailure), QI_RESP_FAILURE);
  // Fields: RID is what Linux calls QI_PGRP_DID; the group index is 9 bits from qw1[3].
  EXPECT_EQ(field_at(Type::PageGrpResp, 0, 16).name, std::string("RID"));
  EXPECT_EQ(field_at(Type::PageGrpResp, 1, 2).name, std::string("LPIG"));
  EXPECT_EQ(range(field_at(Type::PageGrpResp, 1, 3)), "qw1[11:3]");
}

TEST(VtdDescriptor, PageGroupResponseRejectsPrivateData)
{
  using namespace linux_qi;
  // Linux up to v6.8 wrote PDP and the private data into qw2/qw3 when a request carried it;
  // VT-d 4.0 removed private data and QEMU reserves PDP: both are reserved here.
  const u64 q0 = QI_PGRP_PASID(5) | QI_PGRP_DID(0x100) | QI_PGRP_PASID_P(1) | QI_PGRP_RESP_TYPE;
  ScenarioError e = raw_error({q0 | QI_PGRP_PDP(1), QI_PGRP_IDX(1), 0, 0});
  EXPECT_TRUE(contains(e.what(), "page_grp_resp: reserved field qw0[5] = 0x1")) << e.what();
  ScenarioError f = raw_error({q0, QI_PGRP_IDX(1), 0xdead, 0xbeef});
  EXPECT_TRUE(contains(f.what(), "reserved fields qw2[63:0] = 0xdead, qw3[63:0] = 0xbeef")) << f.what();
}

TEST(VtdDescriptor, PageGroupResponseKeepsWhatTheHardwareIgnores)
{
  // Without PP the PASID field is ignored, and LPIG is ignored by hardware since VT-d 4.0; an
  // unused response code is kept as a number. All survive both round trips.
  const Words w = {(u64{0x1234} << 32) | (u64{5} << 12) | (u64{0x100} << 16) | 0x9, (u64{0x1ff} << 3) | 4};
  Descriptor d = decode_raw(w, kPath);
  EXPECT_EQ(d, (Descriptor{PageGrpResp{false, 5, 0x100, 0x1234, true, 0x1ff}}));
  EXPECT_EQ(encode_raw(d), w);
  json j = to_json(d);
  EXPECT_EQ(j, json::parse(R"({"type": "page_grp_resp", "rid": 256, "pp": false, "pasid": 4660, "rc": 5, "prgi": 511,
                               "lpig": true})"));
  EXPECT_EQ(decode_json(j, kPath), d);
  // Codes with a name are written by name, and a "0x" string is a number, not a name.
  EXPECT_EQ(to_json(decode_raw({0xf009, 0}, kPath))["rc"], "response_failure");
  EXPECT_EQ(decode_json(json::parse(R"({"type": "page_grp_resp", "rid": 1, "rc": "0xf", "prgi": 0})"), kPath),
            decode_json(json::parse(R"({"type": "page_grp_resp", "rid": 1, "rc": "response_failure", "prgi": 0})"), kPath));
}

// ---- describe, encode preconditions ----------------------------------------------------------

TEST(VtdDescriptor, Describe)
{
  auto d = [](const char * text) { return describe(decode_json(json::parse(text), kPath)); };
  EXPECT_EQ(d(R"({"type": "iotlb_inv", "granularity": "psi", "did": 1, "addr": "0x200000", "am": 0})"),
            "iotlb_inv PSI did=1 addr=0x200000 am=0 ih=0");
  EXPECT_EQ(d(R"({"type": "iotlb_inv", "granularity": "dsi", "did": 3, "dr": true, "dw": true})"), "iotlb_inv DSI did=3 dr=1 dw=1");
  EXPECT_EQ(d(R"({"type": "iotlb_inv", "granularity": "global"})"), "iotlb_inv GLOBAL");
  EXPECT_EQ(d(R"({"type": "cc_inv", "granularity": "device", "did": 0, "sid": "0x100", "fm": 1})"), "cc_inv DEVICE did=0 sid=0x100 fm=1");
  EXPECT_EQ(d(R"({"type": "dev_tlb_inv", "sid": 256, "addr": "0x7ffffffffffff000", "s": true, "mip": 4})"),
            "dev_tlb_inv sid=0x100 addr=0x7ffffffffffff000 s=1 mip=4");
  EXPECT_EQ(d(R"({"type": "iec_inv", "granularity": "index", "iidx": 7, "im": 1})"), "iec_inv INDEX iidx=7 im=1");
  EXPECT_EQ(d(R"({"type": "inv_wait", "sw": true, "status_data": 2, "status_addr": "0x1000"})"),
            "inv_wait SW status_data=0x2 status_addr=0x1000");
  EXPECT_EQ(d(R"({"type": "inv_wait", "fn": true})"), "inv_wait FN");
  EXPECT_EQ(d(R"({"type": "p_iotlb_inv", "granularity": "pasid", "did": 1, "pasid": 9})"), "p_iotlb_inv PASID did=1 pasid=9");
  EXPECT_EQ(d(R"({"type": "p_iotlb_inv", "granularity": "psi", "did": 1, "pasid": 9, "addr": "0x4000", "am": 1, "ih": true, "width": 256})"),
            "p_iotlb_inv PSI did=1 pasid=9 addr=0x4000 am=1 ih=1 (256-bit)");
  EXPECT_EQ(d(R"({"type": "pc_inv", "granularity": "pasid", "did": 2, "pasid": 3})"), "pc_inv PASID did=2 pasid=3");
  EXPECT_EQ(d(R"({"type": "pc_inv", "granularity": "global"})"), "pc_inv GLOBAL");
  EXPECT_EQ(d(R"({"type": "p_dev_tlb_inv", "sid": 1, "pasid": 2, "addr": 0, "g": true})"),
            "p_dev_tlb_inv sid=0x1 pasid=2 addr=0x0 s=0 g=1");
  EXPECT_EQ(d(R"({"type": "page_grp_resp", "rid": "0x100", "pp": true, "pasid": 5, "rc": "success", "prgi": 3, "lpig": true})"),
            "page_grp_resp rid=0x100 pasid=5 prgi=3 rc=success lpig=1");
  EXPECT_EQ(d(R"({"type": "page_grp_resp", "rid": 16, "rc": "response_failure", "prgi": 0, "width": 256})"),
            "page_grp_resp rid=0x10 prgi=0 rc=response_failure (256-bit)");
  EXPECT_EQ(d(R"({"type": "page_grp_resp", "rid": 16, "rc": 5, "prgi": 0})"), "page_grp_resp rid=0x10 prgi=0 rc=0x5");
}

TEST(VtdDescriptor, EncodeRejectsStructsNoDescriptorCanHold)
{
  EXPECT_THROW(encode_raw({PcInv{PcGran::Pasid, 1, 1u << 20}}), InternalError);
  EXPECT_THROW(encode_raw({PcInv{static_cast<PcGran>(2), 1, 0}}), InternalError);
  EXPECT_THROW(encode_raw({CcInv{CcGran::Device, 1, 1, 4}}), InternalError);
  EXPECT_THROW(encode_raw({CcInv{static_cast<CcGran>(0), 1, 1, 0}}), InternalError);
  EXPECT_THROW(encode_raw({IotlbInv{IotlbGran::Psi, false, false, 1, 0x1800, 0, false}}), InternalError);
  EXPECT_THROW(encode_raw({IotlbInv{IotlbGran::Psi, false, false, 1, 0, 64, false}}), InternalError);
  EXPECT_THROW(encode_raw({InvWait{false, true, false, false, 0, 0x1002}}), InternalError);
  EXPECT_THROW(encode_raw({DevTlbInv{1, 0, 32, false, 0}}), InternalError);
  EXPECT_THROW(encode_raw({IecInv{IecGran::Index, 32, 0}}), InternalError);
  EXPECT_THROW(encode_raw({PDevTlbInv{0, 0, 1, 1u << 20, false, false, 0}}), InternalError);
  EXPECT_THROW(encode_raw({PageGrpResp{true, 0, 1, 1u << 20, false, 0}}), InternalError);
  EXPECT_THROW(encode_raw({PageGrpResp{false, 16, 1, 0, false, 0}}), InternalError);
  EXPECT_THROW(encode_raw({PageGrpResp{false, 0, 1, 0, false, 512}}), InternalError);
}
