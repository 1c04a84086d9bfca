// Intel VT-d queued-invalidation (QI) descriptors: a strict codec between the raw 128/256-bit
// form (two or four little-endian u64 words, qw0 first) and a readable JSON form. Layouts and
// reserved bits: rules VTD-DESC-1..5 of ../shared/reference/rules.md (the catalogue beside
// this repository; spec/docs/rules.md lists the ids used here), Linux
// drivers/iommu/intel/iommu.h QI_* macros and QEMU hw/i386/intel_iommu_internal.h
// VTD_INV_DESC_* masks; every field, mask and the decisions where those sources disagree are in
// DESCRIPTORS.md next to this file.
//
// The codec only checks what a descriptor says on its own: reserved bits, granularity
// encodings, PSI alignment. Capability-dependent limits (CAP.MAMV for iotlb_inv PSI, CAP.PSI,
// ECAP.DIT for PFSID, ECAP.PDS for PD, ECAP.SMTS/IQA.DW for the PASID-based types) are the
// profile's to check.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "spec/model/scenario.h"

namespace nostale::vtd {

/// Descriptor type: qw0[3:0] plus qw0[11:9] as type[6:4] (VT-d 3.x). Only these nine are
/// decoded: eight invalidations and page_grp_resp, the one response Linux submits on the queue;
/// the page-stream response (0xa) is not decoded.
enum class Type : unsigned {
  CcInv = 0x1,       ///< cc_inv, context-cache invalidate (QI_CC_TYPE)
  IotlbInv = 0x2,    ///< iotlb_inv (QI_IOTLB_TYPE)
  DevTlbInv = 0x3,   ///< dev_tlb_inv, device-TLB / ATS invalidate (QI_DIOTLB_TYPE)
  IecInv = 0x4,      ///< iec_inv, interrupt-entry cache (QI_IEC_TYPE)
  InvWait = 0x5,     ///< inv_wait, invalidation wait (QI_IWD_TYPE)
  PIotlbInv = 0x6,   ///< p_iotlb_inv, PASID-based IOTLB (QI_EIOTLB_TYPE)
  PcInv = 0x7,       ///< pc_inv, PASID cache (QI_PC_TYPE)
  PDevTlbInv = 0x8,  ///< p_dev_tlb_inv, PASID-based device TLB (QI_DEIOTLB_TYPE)
  PageGrpResp = 0x9, ///< page_grp_resp, page group response (QI_PGRP_RESP_TYPE)
};

/// cc_inv G, qw0[5:4] (QI_CC_GRAN(DMA_CCMD_*_INVL)); 0 is invalid.
enum class CcGran : unsigned { Global = 1, Domain = 2, Device = 3 };
/// iotlb_inv G, qw0[5:4] (QI_IOTLB_GRAN(DMA_TLB_*_FLUSH)); 0 is invalid.
enum class IotlbGran : unsigned { Global = 1, Dsi = 2, Psi = 3 };
/// iec_inv G, qw0[4]: 0 global, 1 index-selective (QI_IEC_SELECTIVE).
enum class IecGran : unsigned { Global = 0, Index = 1 };
/// p_iotlb_inv G, qw0[5:4]: 2 all of (DID, PASID) (QI_GRAN_NONG_PASID), 3 page-selective
/// within PASID (QI_GRAN_PSI_PASID); 0 and 1 are invalid.
enum class PIotlbGran : unsigned { Pasid = 2, Psi = 3 };
/// pc_inv G, qw0[5:4]: 0 domain-selective (QI_PC_ALL_PASIDS), 1 PASID-selective within the
/// domain (QI_PC_PASID_SEL), 3 global (QI_PC_GLOBAL); 2 is invalid.
enum class PcGran : unsigned { Domain = 0, Pasid = 1, Global = 3 };

struct CcInv {
  CcGran g = CcGran::Global;
  std::uint16_t did = 0;  ///< qw0[31:16]
  std::uint16_t sid = 0;  ///< qw0[47:32]
  std::uint8_t fm = 0;    ///< qw0[49:48] function mask
  bool operator==(const CcInv &) const = default;
};

struct IotlbInv {
  IotlbGran g = IotlbGran::Global;
  bool dw = false;        ///< qw0[6] drain writes
  bool dr = false;        ///< qw0[7] drain reads
  std::uint16_t did = 0;  ///< qw0[31:16]
  u64 addr = 0;           ///< qw1[63:12] (byte address, low 12 bits zero)
  std::uint8_t am = 0;    ///< qw1[5:0] address mask: 2^am 4-KiB pages
  bool ih = false;        ///< qw1[6] invalidation hint (leaf only)
  bool operator==(const IotlbInv &) const = default;
};

struct DevTlbInv {
  std::uint16_t sid = 0;    ///< qw0[47:32]
  std::uint16_t pfsid = 0;  ///< PFSID[3:0] in qw0[15:12], PFSID[15:4] in qw0[63:52]
  std::uint8_t mip = 0;     ///< qw0[20:16] max invalidations pending (qdep; 32 encoded as 0)
  bool s = false;           ///< qw1[0] size: ADDR encodes a range (ATS-1)
  u64 addr = 0;             ///< qw1[63:12]
  bool operator==(const DevTlbInv &) const = default;
};

struct IecInv {
  IecGran g = IecGran::Global;
  std::uint8_t im = 0;     ///< qw0[31:27] index mask: 2^im entries
  std::uint16_t iidx = 0;  ///< qw0[47:32] interrupt index
  bool operator==(const IecInv &) const = default;
};

struct InvWait {
  bool if_ = false;                ///< qw0[4] interrupt flag
  bool sw = false;                 ///< qw0[5] status write
  bool fn = false;                 ///< qw0[6] fence
  bool pd = false;                 ///< qw0[7] page-request drain
  std::uint32_t status_data = 0;   ///< qw0[63:32]
  u64 status_addr = 0;             ///< qw1[63:2] (byte address, low 2 bits zero)
  bool operator==(const InvWait &) const = default;
};

struct PIotlbInv {
  PIotlbGran g = PIotlbGran::Pasid;
  std::uint16_t did = 0;    ///< qw0[31:16]
  std::uint32_t pasid = 0;  ///< qw0[51:32]
  u64 addr = 0;             ///< qw1[63:12]
  std::uint8_t am = 0;      ///< qw1[5:0]
  bool ih = false;          ///< qw1[6]
  bool operator==(const PIotlbInv &) const = default;
};

struct PcInv {
  PcGran g = PcGran::Domain;
  std::uint16_t did = 0;    ///< qw0[31:16]
  std::uint32_t pasid = 0;  ///< qw0[51:32]
  bool operator==(const PcInv &) const = default;
};

struct PDevTlbInv {
  std::uint8_t mip = 0;     ///< qw0[8:4]
  std::uint16_t pfsid = 0;  ///< PFSID[3:0] in qw0[15:12], PFSID[15:4] in qw0[63:52]
  std::uint16_t sid = 0;    ///< qw0[31:16]
  std::uint32_t pasid = 0;  ///< qw0[51:32]
  bool g = false;           ///< qw1[0] global: all PASIDs of the device (see DESCRIPTORS.md)
  bool s = false;           ///< qw1[11] size
  u64 addr = 0;             ///< qw1[63:12]
  bool operator==(const PDevTlbInv &) const = default;
};

/// page_grp_resp response codes (PCIe PRG Response; Linux QI_RESP_*). The field holds any of
/// 16 values; these three are the ones PCIe defines, the others are unused encodings.
enum class RespCode : unsigned { Success = 0x0, InvalidRequest = 0x1, ResponseFailure = 0xf };

/// The answer to a page request group (VT-d 3.x layout): the remapping hardware sends it to the
/// device as a PCIe PRG Response message. It invalidates nothing (DESCRIPTORS.md).
struct PageGrpResp {
  bool pp = false;          ///< qw0[4] PASID present (QI_PGRP_PASID_P)
  std::uint8_t rc = 0;      ///< qw0[15:12] response code (QI_PGRP_RESP_CODE), see RespCode
  std::uint16_t rid = 0;    ///< qw0[31:16] requester id of the device (QI_PGRP_DID)
  std::uint32_t pasid = 0;  ///< qw0[51:32] (QI_PGRP_PASID), meaningful with pp
  bool lpig = false;        ///< qw1[2] last page in group (QI_PGRP_LPIG; reserved since VT-d 4.0)
  std::uint16_t prgi = 0;   ///< qw1[11:3] page request group index (QI_PGRP_IDX), 9 bits
  bool operator==(const PageGrpResp &) const = default;
};

/// Alternatives in type order: index() + 1 == type code.
using Body = std::variant<CcInv, IotlbInv, DevTlbInv, IecInv, InvWait, PIotlbInv, PcInv, PDevTlbInv, PageGrpResp>;

struct Descriptor {
  Body body;
  /// 256-bit form (four words, IQA.DW=1, scalable mode); qw2 and qw3 are zero for every type
  /// decoded here.
  bool wide = false;

  Type type() const { return static_cast<Type>(body.index() + 1); }
  bool operator==(const Descriptor &) const = default;
};

/// "cc_inv", "iotlb_inv", ..., "page_grp_resp" (the Linux qi_submit trace labels, TRACE-1).
const char * type_name(Type t);
/// The PASID-based types (p_iotlb_inv, pc_inv, p_dev_tlb_inv) exist only with a 256-bit queue
/// (QEMU rejects them in a 128-bit one: vtd_inv_desc_reserved_check(..., dw = true)). Not
/// checked by decode_raw, which takes either width. page_grp_resp is not among them: QEMU
/// checks only its qw0/qw1 (vtd_process_page_group_response_desc).
bool needs_256bit_queue(Type t);
/// One named bit range qw<word>[hi:lo]; the name is the spec's ("DID", "ADDR", "type[3:0]",
/// "PFSID[15:4]", ...) or "reserved".
struct FieldInfo {
  const char * name;
  unsigned word, hi, lo;
};
/// Every field of qw0 and qw1 of type `t`, reserved ones included: each bit exactly once.
std::vector<FieldInfo> fields(Type t);
/// Reserved bits of word `word` (0..3) of a descriptor of type `t`: a set bit makes the
/// descriptor invalid (IQE). Words 2 and 3 are all reserved.
u64 reserved_mask(Type t, unsigned word);

/// Decodes two (128-bit) or four (256-bit) words. Throws ScenarioError(path, ...) naming the
/// offending word and bit range for: a wrong word count, an unknown type, a set reserved bit
/// (VTD-DESC-1; page_grp_resp's PDP and private data included), an invalid granularity
/// encoding, a page-selective address not aligned to 2^(12+AM) or AM > 51 (VTD-DESC-2), a wait
/// descriptor with none of SW/IF/FN.
Descriptor decode_raw(const std::vector<u64> & words, const std::string & path);
/// The exact inverse of decode_raw: two words, or four if `d.wide`.
std::vector<u64> encode_raw(const Descriptor & d);

/// The readable form, e.g. {"type": "iotlb_inv", "granularity": "psi", "did": 1,
/// "addr": "0x200000", "am": 0, "ih": false, "dr": true, "dw": true}. Keys are strict; fields
/// that the granularity uses are required, flags default to false, other numbers to 0;
/// "width": 128 (default) or 256. Numbers are JSON integers or "0x..." strings. The same
/// checks as decode_raw apply; errors name path + "/key".
Descriptor decode_json(const nlohmann::json & j, const std::string & path);
/// The readable form decode_json reads back to `d`: the fields the granularity uses, plus any
/// other field that is non-zero.
nlohmann::json to_json(const Descriptor & d);
/// One line, e.g. "iotlb_inv PSI did=1 addr=0x200000 am=0 ih=0".
std::string describe(const Descriptor & d);

}  // namespace nostale::vtd
