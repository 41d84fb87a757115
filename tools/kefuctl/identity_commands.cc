#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {

std::vector<CommandSpec> IdentityCommands() { return {}; }

}  // namespace kefu::ctl
