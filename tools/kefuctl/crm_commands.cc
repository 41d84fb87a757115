#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {

std::vector<CommandSpec> CrmCommands() { return {}; }

}  // namespace kefu::ctl
