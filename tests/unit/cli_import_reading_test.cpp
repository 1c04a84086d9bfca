// Where a trace is silent, the importers choose what can only add reports (spec/docs/traces.md):
// each test is a trace of a real bug that an earlier reading turned into SAFE (found in
// review), or of a correct flow an earlier reading turned into a violation, through the CLI.
#include "tests/unit/cli_harness.h"

namespace {

const std::string kAssign =
    "    kworker/u8:2-110     [001] .....   101.000100: cache_tag_assign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n";
const std::string kAssignDevtlb =
    "    kworker/u8:2-110     [001] .....   101.000101: cache_tag_assign: dmar0/0000:03:00.0 type devtlb did 2 pasid 0 ref 1\n";
const std::string kMap =
    "             fio-2301    [000] .....   102.000200: map: IOMMU: iova=0x00000000ffffe000 - 0x0000000100000000 paddr=0x000000004a3c2000 size=8192\n";
const std::string kUnmap =
    "             fio-2301    [000] .....   102.500300: unmap: IOMMU: iova=0x00000000ffffe000 - 0x0000000100000000 size=8192 unmapped_size=8192\n";
const std::string kPiotlb = "             fio-2301    [000] d..1.   102.500301: qi_submit: p_iotlb_inv dmar0: 0x20036 0xffffe041 0x0 0x0\n";
const std::string kDevtlb = "             fio-2301    [000] d..1.   102.500303: qi_submit: dev_tlb_inv dmar0: 0x300030000000003 0xffffe001 0x0 0x0\n";

class Reading : public Cli {
 public:
  /// `check` on a trace made of `lines`: its verdict object (JSON report), exit code in "exit".
  json check(const std::string & name, const std::string & lines, const std::string & flags = "")
  {
    std::string f = write(name, "# tracer: nop\n" + lines);
    Proc r = run("check --format json " + flags + " " + quote(f));
    json j = json::parse(r.out, nullptr, false);
    json out = j.is_array() && j.size() == 1 ? j[0] : json{{"verdict", "none"}, {"err", r.err}};
    out["exit"] = r.code;
    return out;
  }
  Proc import(const std::string & name, const std::string & lines, const std::string & flags = "")
  {
    return run("import " + flags + " " + quote(write(name, "# tracer: nop\n" + lines)));
  }
};

TEST_F(Reading, AnotherTasksLaterFlushIsNotTheUnmapsFlush)
{
  // fio unmaps and never flushes; a kworker's PASID-wide flush seconds later does not make
  // iommu_unmap's return safe (the check point is fio's, TRACE-5).
  const std::string later = "    kworker/u8:2-110     [001] d..1.   107.000100: qi_submit: p_iotlb_inv dmar0: 0x20026 0x0 0x0 0x0\n";
  json j = check("later.trace", kAssign + kMap + kUnmap + later);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-SEQ-10") << j.dump(1);
}

TEST_F(Reading, AnotherCpusEventDoesNotSplitOneCall)
{
  // v6.12's one batch with another task's event between its two qi_submit lines: still one
  // call, one wait, and VTD-ORDER-4 in any order (a split would add a wait and hide it).
  const std::string other =
      "      other-task-77     [001] .....   102.500302: cache_tag_flush_range: dmar0 0000:03:00.0[0] type iotlb did 2 [0x100000-0x100fff] addr 0x100000 pages 0x1 mask 0x0\n";
  json j = check("interleaved.trace", kAssign + kAssignDevtlb + kMap + kUnmap + kPiotlb + other + kDevtlb);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-ORDER-4") << j.dump(1);
}

TEST_F(Reading, OneFlushAfterAGatherOfUnmapsIsTheirFlush)
{
  // VFIO type1: iommu_unmap_fast twice, then one iommu_iotlb_sync over the gather.
  const std::string u1 =
      "             fio-2301    [000] .....   102.500300: unmap: IOMMU: iova=0x00000000ffffe000 - 0x00000000fffff000 size=4096 unmapped_size=4096\n";
  const std::string u2 =
      "             fio-2301    [000] .....   102.500301: unmap: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 size=4096 unmapped_size=4096\n";
  json ok = check("gather.trace", kAssign + kMap + u1 + u2 + kPiotlb);
  EXPECT_EQ(ok["verdict"], "safe") << ok.dump(1);
  // The same gather with a flush of the second page only: the first stays.
  const std::string second_only =
      "             fio-2301    [000] d..1.   102.500302: qi_submit: p_iotlb_inv dmar0: 0x20036 0xfffff040 0x0 0x0\n";
  json bug = check("gather-bug.trace", kAssign + kMap + u1 + u2 + second_only);
  EXPECT_EQ(bug["verdict"], "violation") << bug.dump(1);
  EXPECT_EQ(bug["witness"]["address"], "0xffffe000") << bug.dump(1);
}

TEST_F(Reading, ADetachMovesOnlyOverItsOwnTeardownCalls)
{
  // A setup pc_inv long before, then an unflushed unmap, then the unassign: the detach stays
  // where it is, after the unmap's check point.
  const std::string setup = "    kworker/u8:2-110     [001] d..1.   101.000101: qi_submit: pc_inv dmar0: 0x20017 0x0 0x0 0x0\n";
  const std::string unassign =
      "    kworker/u8:2-110     [001] .....   109.000100: cache_tag_unassign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n";
  json bug = check("hoist.trace", kAssign + setup + kMap + kUnmap + unassign);
  EXPECT_EQ(bug["verdict"], "violation") << bug.dump(1);
  // intel_pasid_tear_down_entry: the entry is cleared, then pc_inv, p_iotlb_inv (two calls),
  // then the tag goes. The detach goes before the pc_inv's call, and the teardown is safe.
  const std::string teardown =
      "    kworker/u8:2-110     [001] d..1.   109.000100: qi_submit: pc_inv dmar0: 0x20017 0x0 0x0 0x0\n"
      "             fio-2301    [000] .....   109.000101: map: IOMMU: iova=0x0000000000200000 - 0x0000000000201000 paddr=0x000000004a3c0000 size=4096\n"
      "    kworker/u8:2-110     [002] d..1.   109.000102: qi_submit: p_iotlb_inv dmar0: 0x20026 0x0 0x0 0x0\n"
      "    kworker/u8:2-110     [002] .....   109.000103: cache_tag_unassign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n";
  json ok = check("teardown.trace", kAssign + kMap + kUnmap + kPiotlb + teardown);
  EXPECT_EQ(ok["verdict"], "safe") << ok.dump(1);
  // The same teardown 2 ms before its unassign is not taken as its teardown (kTeardownUs).
  std::string slow = teardown;
  slow.replace(slow.find("109.000103"), 10, "109.002103");
  json late = check("teardown-slow.trace", kAssign + kMap + kUnmap + kPiotlb + slow);
  EXPECT_EQ(late["verdict"], "violation") << late.dump(1);
  // A cache-tag flush event of the task between its calls ends the teardown.
  std::string flush = teardown;
  flush.insert(flush.find("    kworker/u8:2-110     [002] d..1."),
               "    kworker/u8:2-110     [001] .....   109.000101: cache_tag_flush_all: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n");
  json cut = check("teardown-flush.trace", kAssign + kMap + kUnmap + kPiotlb + flush);
  EXPECT_EQ(cut["verdict"], "violation") << cut.dump(1);
}

TEST_F(Reading, ALaterTeardownIsNotTheUnmapsFlush)
{
  // The unmap's flush misses the device TLB; the task later (on another CPU: another call)
  // tears the PASID down with a PASID-wide flush of everything. The check point is after the
  // unmap's own flush.
  const std::string teardown =
      "             fio-2301    [001] d..1.   103.000100: qi_submit: pc_inv dmar0: 0x20017 0x0 0x0 0x0\n"
      "             fio-2301    [001] d..1.   103.000101: qi_submit: p_iotlb_inv dmar0: 0x20026 0x0 0x0 0x0\n"
      "             fio-2301    [001] d..1.   103.000102: qi_submit: dev_tlb_inv dmar0: 0x300030000000003 0x7ffffffffffff001 0x0 0x0\n";
  json j = check("teardown-after.trace", kAssign + kAssignDevtlb + kMap + kUnmap + kPiotlb + teardown);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-GRAN-6") << j.dump(1);
}

TEST_F(Reading, AFlushEventBetweenTwoUnmapsEndsTheFirst)
{
  // Unmap A; its sync runs (a cache-tag flush event) and sends nothing; unmap B; a flush of
  // everything. B's flush is not A's.
  const std::string a =
      "             fio-2301    [000] .....   102.500300: unmap: IOMMU: iova=0x00000000ffffe000 - 0x00000000fffff000 size=4096 unmapped_size=4096\n"
      "             fio-2301    [000] .....   102.500301: cache_tag_flush_range: dmar0 0000:03:00.0[0] type iotlb did 2 [0xffffe000-0xffffefff] addr 0xffffe000 pages 0x1 mask 0x0\n";
  const std::string b =
      "             fio-2301    [000] .....   102.500302: unmap: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 size=4096 unmapped_size=4096\n"
      "             fio-2301    [000] d..1.   102.500303: qi_submit: p_iotlb_inv dmar0: 0x20026 0x0 0x0 0x0\n";
  json j = check("flush-between.trace", kAssign + kMap + a + b);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["witness"]["address"], "0xffffe000") << j.dump(1);
}

TEST_F(Reading, ADomainDetachedWithNothingMappedStillHasAPageToFlush)
{
  // Only a teardown that forgets the device TLB: a page the domain translated stays in it.
  const std::string teardown =
      "    kworker/u8:2-110     [001] d..1.   109.000100: qi_submit: pc_inv dmar0: 0x20017 0x0 0x0 0x0\n"
      "    kworker/u8:2-110     [001] d..1.   109.000101: qi_submit: p_iotlb_inv dmar0: 0x20026 0x0 0x0 0x0\n"
      "    kworker/u8:2-110     [001] .....   109.000102: cache_tag_unassign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n";
  json j = check("teardown-only.trace", kAssign + kAssignDevtlb + teardown);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-GRAN-6") << j.dump(1);
}

TEST_F(Reading, ADeviceAssignedOnlyAfterTheUnmapLeavesTheUnmapCheckedOnAStandIn)
{
  const std::string later =
      "    kworker/u8:2-110     [001] .....   110.000100: cache_tag_assign: dmar0/0000:04:00.0 type iotlb did 2 pasid 0 ref 1\n";
  json j = check("assigned-later.trace", kMap + kUnmap + later);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-SEQ-10") << j.dump(1);
}

TEST_F(Reading, ABindingUsedBeforeItsFirstAssignWasAttachedBeforeTheTrace)
{
  // Unassigned and assigned again after an unflushed unmap: the device was attached during it.
  const std::string again =
      "    kworker/u8:2-110     [001] .....   109.000100: cache_tag_unassign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n"
      "    kworker/u8:2-110     [001] .....   110.000100: cache_tag_assign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n";
  json j = check("reassign.trace", kMap + kUnmap + again);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-SEQ-10") << j.dump(1);
}

TEST_F(Reading, ADeviceWhoseAtsTheTraceDoesNotShowHasADeviceTlb)
{
  // Recorded after the attach: no assign says whether 03:00.0 has ATS. Taken as with one, so
  // the missing device-TLB flush is found; --ats-unknown no says otherwise.
  const std::string tag =
      "             fio-2301    [000] .....   102.500302: cache_tag_flush_range: dmar0 0000:03:00.0[0] type iotlb did 2 [0xffffe000-0xffffffff] addr 0xffffe000 pages 0x2 mask 0x1\n";
  const std::string lines = kMap + kUnmap + kPiotlb + tag;
  json j = check("late.trace", lines);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-GRAN-6") << j.dump(1);
  Proc no = import("late-no-ats.trace", lines, "--ats-unknown no --out " + quote((dir / "s.json").string()));
  ASSERT_EQ(no.code, 0) << no;
  Proc r = run("check " + quote((dir / "s.json").string()));
  EXPECT_EQ(r.code, 0) << r;
  // With the devtlb tag assigned and never flushed: the known device TLB stays.
  json known = check("known.trace", kAssign + kAssignDevtlb + kMap + kUnmap + kPiotlb);
  EXPECT_EQ(known["rule"], "VTD-GRAN-6") << known.dump(1);
  // With only the iotlb tag assigned: no device TLB, and the flush is enough.
  json none = check("none.trace", kAssign + kMap + kUnmap + kPiotlb);
  EXPECT_EQ(none["verdict"], "safe") << none.dump(1);
}

TEST_F(Reading, ADomainIsNeverTakenFromTheFlushBeingChecked)
{
  // The device is on did 2; the driver flushes did 3. Before: the unmap was put on did 3.
  const std::string wrong = "             fio-2301    [000] d..1.   102.500301: qi_submit: p_iotlb_inv dmar0: 0x30036 0xffffe041 0x0 0x0\n";
  json j = check("wrong-did.trace", kAssign + kMap + kUnmap + wrong);
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  // Two domains in the tags, and nothing says which one iommu:unmap is on: --domain does.
  const std::string other =
      "    kworker/u8:2-111     [001] .....   101.000200: cache_tag_assign: dmar0/0000:04:00.0 type iotlb did 3 pasid 0 ref 1\n";
  Proc r = import("two.trace", kAssign + other + kMap + kUnmap + kPiotlb);
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("the cache tags name several (domain ids 2, 3): pass --domain DID"), std::string::npos) << r;
  Proc d = import("two-d.trace", kAssign + other + kMap + kUnmap + kPiotlb, "--domain 2");
  EXPECT_EQ(d.code, 0) << d;
}

TEST_F(Reading, ATraceThatTakesNothingAwayHasNoVerdict)
{
  Proc r = import("nothing.trace", kAssign + kMap + kPiotlb);
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("nothing in the trace takes a translation away"), std::string::npos) << r;
}

TEST_F(Reading, TaskNamesWithBracketsParenthesesAndBlanks)
{
  for (const std::string task : {"(udev-worker)", "fio[7]", "fio (2)", "kworker/u8:2-ev"}) {
    std::string lines = kAssign + kMap + kUnmap + kPiotlb;
    for (std::size_t k; (k = lines.find("             fio")) != std::string::npos;)
      lines.replace(k, 16, "   " + task);
    json j = check("task.trace", lines);
    EXPECT_EQ(j["verdict"], "safe") << task << "\n" << j.dump(1);
  }
}

TEST_F(Reading, HugeRangesAndFieldsAreBadInputNotACrash)
{
  const std::string huge =
      "             fio-2301    [000] .....   102.500300: unmap: IOMMU: iova=0x0000000000000000 - 0x0000800000000000 size=140737488355328 unmapped_size=140737488355328\n";
  Proc r = import("huge.trace", kAssign + huge);
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("is more than nostale checks"), std::string::npos) << r;
  Proc c = import("cpu.trace", "  fio-1 [99999999999999999999] ..... 1.0: qi_submit: pc_inv dmar0: 0x20017 0x0 0x0 0x0\n");
  EXPECT_EQ(c.code, 2) << c;
  EXPECT_NE(c.err.find(":2: error: not an ftrace event line"), std::string::npos) << c;
}

/// The bundled iommufd recording with `edit` applied, checked.
json iommufd(Cli & t, const std::string & name, const std::function<void(json &)> & edit)
{
  json j = json::parse(slurp(kSrc + "/scenarios/traces/iommufd/nested-kernel-no-devtlb-bug.json"));
  edit(j);
  Proc r = t.run("check --format json " + quote(t.write(name, j.dump(2))));
  json out = json::parse(r.out, nullptr, false);
  json v = out.is_array() && out.size() == 1 ? out[0] : json{{"verdict", "none"}, {"err", r.err}};
  v["exit"] = r.code;
  return v;
}

TEST_F(Reading, IommufdPagesTheRecordingDoesNotMapAreMappedNotForgotten)
{
  // The kernel's bug (no device-TLB flush) stays found when the recording lacks the guest's
  // map, or the parent's mapping of the guest page.
  json no_map = iommufd(*this, "no-map.json", [](json & j) { j["events"].erase(0); });
  EXPECT_EQ(no_map["verdict"], "violation") << no_map.dump(1);
  json no_parent = iommufd(*this, "no-parent.json", [](json & j) { j["parent"]["maps"] = json::array(); });
  EXPECT_EQ(no_parent["verdict"], "violation") << no_parent.dump(1);
  // With no guest events: a rejected request, and "every address" with nothing sent, are stale.
  auto no_guest = [](json & j) { j["events"] = json::array({j["events"][2]}); };
  json rejected = iommufd(*this, "rejected.json", [&](json & j) {
    no_guest(j);
    j["events"][0]["requests"][0]["addr"] = "0x1800";
    j["events"][0]["requests"][0]["kernel"] = json::array();
  });
  EXPECT_EQ(rejected["verdict"], "violation") << rejected.dump(1);
  json all = iommufd(*this, "all.json", [&](json & j) {
    no_guest(j);
    j["events"][0]["requests"][0]["addr"] = 0;
    j["events"][0]["requests"][0]["npages"] = "0xffffffffffffffff";
    j["events"][0]["requests"][0]["kernel"] = json::array();
  });
  EXPECT_EQ(all["verdict"], "violation") << all.dump(1);
  json zero = iommufd(*this, "zero.json", [&](json & j) {
    no_guest(j);
    j["events"][0]["requests"][0]["npages"] = 0;
  });
  EXPECT_EQ(zero["exit"], 2) << zero.dump(1);
  EXPECT_NE(zero["err"].get<std::string>().find("no first-stage page is unmapped"), std::string::npos) << zero.dump(1);
}

}  // namespace
