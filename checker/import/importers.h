// The importers behind import_trace (checker/import/import.h), one per trace format.
#pragma once

#include "checker/import/import.h"
#include "checker/import/vtd_builder.h"

namespace nostale::importer {

ojson import_linux_ftrace(const std::string & file, const std::string & text, const ImportOptions & opt);
ojson import_qemu_vtd(const std::string & file, const std::string & text, const ImportOptions & opt);
ojson import_iommufd_vtd(const std::string & file, const std::string & text);

}  // namespace nostale::importer
