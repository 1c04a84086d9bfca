#include "checker/import/import.h"

#include <sstream>

#include "checker/import/importers.h"
#include "checker/scenario_loader.h"

namespace nostale {

const char * format_name(TraceFormat f)
{
  switch (f) {
    case TraceFormat::LinuxFtrace: return "linux-ftrace";
    case TraceFormat::QemuVtd: return "qemu-vtd";
    case TraceFormat::IommufdVtd: return "iommufd-vtd";
  }
  return "?";
}

std::optional<TraceFormat> sniff_trace(const std::string & text)
{
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::nullopt;
  if (text[first] == '{' || text[first] == '[') {
    // JSON: an iommufd recording says so in a top-level key; anything else (or JSON the
    // scenario loader will name the error of) is a scenario.
    if (text.find("\"nostale_trace\"") == std::string::npos) return std::nullopt;
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object() && j.contains("nostale_trace")) return TraceFormat::IommufdVtd;
    return std::nullopt;
  }
  // Text: the first event line decides.
  std::istringstream in(text);
  std::string line;
  for (int n = 0; n < 4096 && std::getline(in, line); ++n) {
    const std::size_t a = line.find_first_not_of(" \t");
    if (a == std::string::npos || line[a] == '#') continue;
    if (line.find("vtd_") != std::string::npos && line.find(": qi_submit") == std::string::npos &&
        line.find('[') == std::string::npos)
      return TraceFormat::QemuVtd;
    if (line.find(']') != std::string::npos && line.find(": ") != std::string::npos) return TraceFormat::LinuxFtrace;
  }
  // Comments only, or lines of no known shape: ftrace reports the first one it cannot read.
  return TraceFormat::LinuxFtrace;
}

std::optional<TraceFormat> trace_format(const std::string & file, const std::string & text)
{
  std::optional<TraceFormat> f = sniff_trace(text);
  if (!f && file.ends_with(".trace")) f = TraceFormat::LinuxFtrace;
  return f;
}

nlohmann::ordered_json import_trace(const std::string & file, const std::string & text, TraceFormat format,
                                    const ImportOptions & opt)
{
  switch (format) {
    case TraceFormat::LinuxFtrace: return importer::import_linux_ftrace(file, text, opt);
    case TraceFormat::QemuVtd: return importer::import_qemu_vtd(file, text, opt);
    case TraceFormat::IommufdVtd: return importer::import_iommufd_vtd(file, text);
  }
  throw LoadError(file + ": error: unknown trace format");
}

}  // namespace nostale
