#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {

std::vector<CommandSpec> KbCommands() { return {}; }

}  // namespace kefu::ctl
