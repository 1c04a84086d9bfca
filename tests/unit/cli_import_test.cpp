// Importing recorded command streams (spec/docs/traces.md) through the real CLI: the bundled
// traces of each format (scenarios/traces/), `import` and `check` agreeing, the wait that
// qi_submit_sync appends (TRACE-1) being what makes a correct trace safe, and malformed traces
// refused with their line (exit 2, nothing written).
#include "checker/import/import.h"
#include "checker/import/vtd_builder.h"
#include "tests/unit/cli_harness.h"

namespace {

const std::string kTraces = "scenarios/traces";
const std::string kFtraceOk = kTraces + "/linux/unmap-v6.11-ok.trace";
const std::string kFtraceBug = kTraces + "/linux/unmap-no-devtlb-flush-bug.trace";
const std::string kFtraceBatch = kTraces + "/linux/unmap-v6.12-batched-any-order.trace";

class Import : public Cli {
 public:
  json check_json(const std::string & args)
  {
    Proc r = run("check --format json " + args);
    EXPECT_TRUE(r.exited) << r;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r;
    return j.is_array() && !j.empty() ? j[0] : json();
  }
  json import_json(const std::string & args)
  {
    Proc r = run("import " + args);
    EXPECT_EQ(r.code, 0) << r;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r;
    return j;
  }
  /// The one-line error of a bad trace: exit 2, nothing on stdout.
  std::string refused(const std::string & args)
  {
    Proc r = run(args);
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_EQ(count_lines(r.err), 1u) << r;
    return r.err;
  }
};

TEST_F(Import, EveryBundledTraceMeetsItsExpectation)
{
  Proc r = run("test " + kTraces);
  EXPECT_EQ(r.code, 0) << r;
  // Three formats, a correct and a buggy flow each at least.
  EXPECT_NE(r.out.find("9 passed, 0 failed"), std::string::npos) << r;
  for (const char * f : {"linux/unmap-v6.11-ok.trace", "qemu/unmap-devtlb-range-ok.trace", "iommufd/nested-unmap-ok.json",
                         "linux/unmap-no-devtlb-flush-bug.trace", "qemu/unmap-devtlb-one-page-bug.trace",
                         "iommufd/nested-kernel-no-devtlb-bug.json"})
    EXPECT_NE(r.out.find(std::string("PASS  ") + kTraces + "/" + f), std::string::npos) << f << "\n" << r;
}

TEST_F(Import, TheDeviceTlbThatIsNotFlushedIsTheStaleEntryAtTheUnmapsCheckPoint)
{
  json j = check_json(kFtraceBug);
  EXPECT_EQ(j["verdict"], "violation");
  EXPECT_EQ(j["rule"], "VTD-GRAN-6");
  EXPECT_EQ(j["stale_entry"], "device-TLB [dev 03:00.0 pasid 0 0xffffe000/4K] -> 0x4a3c2000 rw");
  EXPECT_EQ(j["imported"]["format"], "linux-ftrace");
  // Steps read from the trace name their line; the wait and the check were added.
  std::map<std::string, json> by_op;
  for (const json & t : j["trace"])
    if (t.contains("op")) by_op[t["op"].get<std::string>() + (t.contains("source") ? "+line" : "")] = t;
  ASSERT_TRUE(by_op.count("unmap+line")) << j.dump(1);
  EXPECT_EQ(by_op["unmap+line"]["source"]["line"], 18);
  EXPECT_EQ(by_op["unmap+line"]["source"]["file"], kFtraceBug);
  // The check point is the importer's; it carries the line of the flush it follows.
  ASSERT_TRUE(by_op.count("check+line")) << j.dump(1);
  EXPECT_EQ(by_op["check+line"]["source"]["line"], 19);
}

TEST_F(Import, QiSubmitSyncsUntracedWaitIsWhatMakesTheCorrectTraceSafe)
{
  json sc = import_json(kFtraceOk);
  std::size_t waits = 0;
  json kept = json::array(), lines = json::array();
  for (std::size_t i = 0; i < sc["steps"].size(); ++i) {
    const json & s = sc["steps"][i];
    const bool added_wait = s["op"] == "descriptor" && s.contains("desc") && s["desc"]["type"] == "inv_wait";
    if (added_wait) {
      ++waits;
      EXPECT_EQ(sc["imported"]["lines"][i], 0) << "the wait is not in the trace";
      continue;
    }
    kept.push_back(s);
    lines.push_back(sc["imported"]["lines"][i]);
  }
  EXPECT_EQ(waits, 2u) << "two qi_submit_sync calls (one per cache tag, v6.11): two waits";
  write("with-waits.json", sc.dump());
  Proc ok = run("check " + quote((dir / "with-waits.json").string()));
  EXPECT_EQ(ok.code, 0) << ok;
  // Without the waits the same trace leaves the device TLB and IOTLB unfinished.
  sc["steps"] = kept;
  sc["imported"]["lines"] = lines;
  write("without-waits.json", sc.dump());
  Proc bug = run("check " + quote((dir / "without-waits.json").string()));
  EXPECT_EQ(bug.code, 1) << bug;
}

TEST_F(Import, ImportThenCheckGivesTheVerdictCheckGivesTheTrace)
{
  for (const std::string & t : {kFtraceOk, kFtraceBug, kFtraceBatch, kTraces + "/qemu/unmap-devtlb-one-page-bug.trace",
                                kTraces + "/iommufd/nested-guest-request-too-short-bug.json"}) {
    std::string out = (dir / "s.json").string();
    Proc imp = run("import " + t + " --out " + quote(out));
    ASSERT_EQ(imp.code, 0) << imp;
    json a = check_json(t), b = check_json(quote(out));
    for (const char * k : {"verdict", "step", "rule", "stale_entry", "witness"}) EXPECT_EQ(a[k], b[k]) << t << " " << k;
    EXPECT_EQ(a["imported"], b["imported"]) << t;
  }
}

TEST_F(Import, V612sOneBatchIsSafeOnlyWithInOrderCompletion)
{
  json any = check_json(kFtraceBatch);
  EXPECT_EQ(any["verdict"], "violation");
  EXPECT_EQ(any["rule"], "VTD-ORDER-4");
  json in = check_json("--completion in-order " + kFtraceBatch);
  EXPECT_EQ(in["verdict"], "safe");
  // One call: the two qi_submit lines are back to back from one task on one CPU.
  json sc = import_json(kFtraceBatch);
  std::size_t waits = 0;
  for (const json & s : sc["steps"]) waits += s.contains("desc") && s["desc"]["type"] == "inv_wait";
  EXPECT_EQ(waits, 1u);
  // They are 1 us apart: a gap limit below that splits the call, and the order is then kept.
  sc = import_json("--batch-gap 0.5 " + kFtraceBatch);
  waits = 0;
  for (const json & s : sc["steps"]) waits += s.contains("desc") && s["desc"]["type"] == "inv_wait";
  EXPECT_EQ(waits, 2u);
}

TEST_F(Import, AssumptionsNameWhatTheTraceDoesNotShowAndEveryLineNotTurnedIntoAStep)
{
  json sc = import_json(kFtraceOk);
  std::string all;
  for (const json & a : sc["imported"]["assumptions"]) all += a.get<std::string>() + "\n";
  EXPECT_NE(all.find("TRACE-1"), std::string::npos) << all;
  EXPECT_NE(all.find("cache_tag_flush_* (what the driver meant to flush; the qi_submit lines are what it sent) x2 (lines 20, 22)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("attach_device_to_domain (the cache tags name the domain) x1 (line 16)"), std::string::npos) << all;
  EXPECT_NE(all.find("read-write"), std::string::npos) << all;
  Proc r = run("check " + kFtraceOk);
  EXPECT_NE(r.out.find("imported:    linux-ftrace trace, "), std::string::npos) << r;
  // QEMU verdicts carry the caveats of their source, a safe one too.
  Proc q = run("check " + kTraces + "/qemu/unmap-devtlb-range-ok.trace");
  EXPECT_EQ(q.code, 0) << q;
  EXPECT_NE(q.out.find("caveat:      TRACE-C1"), std::string::npos) << q;
  EXPECT_NE(q.out.find("caveat:      TRACE-C2"), std::string::npos) << q;
}

TEST_F(Import, AnUnmapBeforeAnyTracedMapWasMappedBeforeTheTraceBegan)
{
  // Only the unmap and no flush: the range existed, a device used it, nothing flushed it.
  std::string t = write("late.trace",
                        "    kworker/u8:2-110     [001] .....   101.000100: cache_tag_assign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n"
                        "             fio-2301    [000] .....   102.500300: unmap: IOMMU: iova=0x0000000000200000 - 0x0000000000201000 size=4096 unmapped_size=4096\n");
  json j = check_json(quote(t));
  EXPECT_EQ(j["verdict"], "violation") << j.dump(1);
  EXPECT_EQ(j["rule"], "VTD-SEQ-10") << "a flush was never issued";
  std::string all;
  for (const json & a : j["imported"]["assumptions"]) all += a.get<std::string>() + "\n";
  EXPECT_NE(all.find("was mapped before the trace began (line 2 unmaps it)"), std::string::npos) << all;
}

TEST_F(Import, MalformedTracesNameTheirLineAndWriteNothing)
{
  const std::string head = "# tracer: nop\n#\n";
  const std::string assign =
      "    kworker/u8:2-110     [001] .....   101.000100: cache_tag_assign: dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1\n";
  struct Case {
    std::string name, text, want;
  };
  const std::vector<Case> cases = {
      {"garbage.trace", head + assign + "this is not an event\n", ":4: error: not an ftrace event line"},
      {"reserved.trace", head + assign + "  fio-1 [000] ..... 1.0: qi_submit: p_iotlb_inv dmar0: 0x20036 0xffffe841 0x0 0x0\n",
       ":4: error: qi_submit: "},
      {"label.trace", head + assign + "  fio-1 [000] ..... 1.0: qi_submit: iotlb_inv dmar0: 0x20036 0xffffe041 0x0 0x0\n",
       ":4: error: qi_submit: the label 'iotlb_inv' does not match the descriptor's type (p_iotlb_inv)"},
      {"lost.trace", head + assign + "CPU:0 [LOST 12 EVENTS]\n", ":4: error: the ring buffer lost events here"},
      {"two-units.trace",
       head + "  fio-1 [000] ..... 1.0: qi_submit: p_iotlb_inv dmar0: 0x20036 0xffffe041 0x0 0x0\n"
              "  fio-1 [000] ..... 1.1: qi_submit: p_iotlb_inv dmar1: 0x20036 0xffffe041 0x0 0x0\n",
       ":4: error: a second remapping unit (dmar1 after dmar0)"},
      {"nested.trace", head + "  k-1 [000] ..... 1.0: cache_tag_assign: dmar0/0000:03:00.0 type nesting_iotlb did 2 pasid 0 ref 1\n",
       ":3: error: a nested domain's cache tag"},
      {"bdf.trace", head + "  k-1 [000] ..... 1.0: cache_tag_assign: dmar0/0000:03:00.9 type iotlb did 2 pasid 0 ref 1\n",
       ":3: error: cache_tag_assign: '0000:03:00.9' is not a PCI device name"},
      {"which-domain.trace",
       head + assign + "  k-1 [000] ..... 1.0: cache_tag_assign: dmar0/0000:04:00.0 type iotlb did 3 pasid 0 ref 1\n" +
           "  fio-1 [000] ..... 2.0: unmap: IOMMU: iova=0x0000000000200000 - 0x0000000000201000 size=4096 unmapped_size=4096\n",
       ":5: error: unmap: iommu:map/unmap name no domain, and the cache tags name several (domain ids 2, 3): pass --domain DID"},
      {"empty.trace", "", ":1: error: no intel_iommu:qi_submit, intel_iommu:cache_tag_* or iommu:map/unmap event"},
      {"only-comments.trace", head, ":1: error: no intel_iommu:qi_submit"},
      {"other-events.trace", head + "  bash-1 [000] ..... 1.0: sched_switch: prev_comm=bash prev_pid=1\n",
       ":1: error: no intel_iommu:qi_submit"},
      {"qemu.trace", "1@1.0:vtd_inv_desc invalidate desc type iotlb high 0x0 low 0x10012\nvtd_inv_desc invalidate desc type bogus high 0x0 low 0x5\n",
       ":2: error: vtd_inv_desc: unknown descriptor type 'bogus'"},
      {"qemu-type.trace", "vtd_inv_desc invalidate desc type wait high 0x0 low 0x10012\n",
       ":1: error: vtd_inv_desc: type 'wait' does not match the descriptor's type (iotlb_inv)"},
  };
  for (const Case & c : cases) {
    std::string t = write(c.name, c.text);
    std::string out = (dir / (c.name + ".json")).string();
    std::string err = refused("import " + quote(t) + " --out " + quote(out));
    EXPECT_NE(err.find(t + c.want), std::string::npos) << c.name << ": " << err;
    EXPECT_FALSE(fs::exists(out)) << c.name << ": a half-written scenario";
    EXPECT_EQ(refused("check " + quote(t)), err) << "check reads the trace as import does";
  }
}

TEST_F(Import, MalformedIommufdRecordingsNameTheirJsonPath)
{
  const std::string ok = slurp(kSrc + "/" + kTraces + "/iommufd/nested-unmap-ok.json");
  json j = json::parse(ok);
  struct Case {
    std::string name;
    std::function<void(json &)> edit;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"key", [](json & x) { x["events"][0]["color"] = "red"; }, "error at /events/0/color: unknown key 'color'"},
      {"flag", [](json & x) { x["events"][2]["requests"][0]["flags"] = json::array({"IOMMU_VTD_INV_FLAGS_SOME"}); },
       "error at /events/2/requests/0/flags"},
      {"rejected",
       [](json & x) { x["events"][2]["requests"][0]["addr"] = "0x1800"; },
       "error at /events/2/requests/0/kernel: the kernel rejects this request (-EINVAL) and submits nothing for it"},
      {"reserved", [](json & x) { x["events"][2]["requests"][0]["kernel"][0][0]["raw"][1] = "0x1840"; },
       "error at /events/2/requests/0/kernel/0/0/raw"},
      {"did", [](json & x) { x["nested"]["did"] = 70000; }, "error at /nested/did: a domain id is 1..65535"},
      {"nothing", [](json & x) { x["events"] = json::array(); }, "error at /events: no IOMMU_HWPT_INVALIDATE is recorded"},
  };
  for (const Case & c : cases) {
    json x = j;
    c.edit(x);
    std::string f = write(c.name + ".json", x.dump(2));
    std::string err = refused("check " + quote(f));
    EXPECT_NE(err.find(f + ": " + c.want), std::string::npos) << c.name << ": " << err;
  }
}

TEST_F(Import, ARequestTheKernelRejectsInvalidatesNothing)
{
  json j = json::parse(slurp(kSrc + "/" + kTraces + "/iommufd/nested-unmap-ok.json"));
  j["events"][2]["requests"][0]["addr"] = "0x1800";  // unaligned: -EINVAL
  j["events"][2]["requests"][0]["kernel"] = json::array();
  json r = check_json(quote(write("rejected.json", j.dump(2))));
  EXPECT_EQ(r["verdict"], "violation") << r.dump(1);
}

TEST(ImportUnits, PciNamesAndNumbers)
{
  using namespace nostale::importer;
  std::uint16_t sid = 0;
  EXPECT_TRUE(parse_bdf("0000:03:00.0", sid));
  EXPECT_EQ(sid, 0x300);
  EXPECT_TRUE(parse_bdf("ff:1f.7", sid));
  EXPECT_EQ(sid, 0xffff);
  for (const char * bad : {"03:00", "03:20.0", "03:00.8", "100:00.0", ":00.0", "03:.0", "03:00.", "x:00.0"})
    EXPECT_FALSE(parse_bdf(bad, sid)) << bad;
  nostale::u64 v = 0;
  EXPECT_TRUE(parse_u64("0xffffffffffffffff", v));
  EXPECT_EQ(v, ~nostale::u64{0});
  EXPECT_FALSE(parse_u64("0x10000000000000000", v));
  EXPECT_FALSE(parse_u64("18446744073709551616", v));
  EXPECT_FALSE(parse_u64("0x", v));
  EXPECT_FALSE(parse_u64("12a", v));
}

TEST(ImportUnits, TheFormatIsReadFromTheContent)
{
  using nostale::TraceFormat;
  EXPECT_EQ(nostale::sniff_trace("{\"nostale_trace\": \"iommufd-vtd\", \"events\": []}"), TraceFormat::IommufdVtd);
  EXPECT_EQ(nostale::sniff_trace("{\"name\": \"x\", \"steps\": [{\"nostale_trace\": 1}]}"), std::nullopt);
  EXPECT_EQ(nostale::sniff_trace("# tracer: nop\n  fio-1 [000] 1.0: qi_submit: x\n"), TraceFormat::LinuxFtrace);
  EXPECT_EQ(nostale::sniff_trace("12@1.5:vtd_inv_desc invalidate desc type wait high 0x0 low 0x25\n"), TraceFormat::QemuVtd);
  EXPECT_EQ(nostale::sniff_trace("vtd_inv_desc invalidate desc type wait high 0x0 low 0x25\n"), TraceFormat::QemuVtd);
}

}  // namespace

namespace {

// The patch reviewer's command on two recordings of one workload: before and after a patch.
TEST_F(Import, DiffOfTwoTracesNamesTheNewViolation)
{
  Proc r = run("diff " + kFtraceOk + " " + kFtraceBug);
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_NE(r.out.find("NEW VIOLATION  " + kFtraceBug + ": old safe, new no-stale (unsafe) at step 5 [rule VTD-GRAN-6]"),
            std::string::npos)
      << r;
  Proc back = run("diff " + kFtraceBug + " " + kFtraceOk);
  EXPECT_EQ(back.code, 0) << back;
  EXPECT_NE(back.out.find("FIXED"), std::string::npos) << back;
}

}  // namespace
