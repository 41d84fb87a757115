#include "services/kb/bot_rules.h"

namespace kefu::kb {

bool EffectiveOnline(const BotFlags& bot) { return bot.auto_online || bot.online; }

BotAvailability Availability(const BotFlags& bot, bool humans_online, BotArrival arrival) {
  if (!EffectiveOnline(bot)) return BotAvailability::kOffline;
  if (arrival == BotArrival::kTransfer) {
    // An agent chose this bot on purpose: the hidden rule is about entry points.
    return bot.accept_transfer ? BotAvailability::kServing : BotAvailability::kNotTransferTarget;
  }
  // 53KF 2.5: 隐身的机器人平时不参与接待,除非客服工号全部离线.
  if (bot.hidden && humans_online) return BotAvailability::kHiddenHumansOnline;
  return BotAvailability::kServing;
}

absl::string_view AvailabilityText(BotAvailability availability) {
  switch (availability) {
    case BotAvailability::kServing:
      return "serving";
    case BotAvailability::kOffline:
      return "the bot is offline";
    case BotAvailability::kHiddenHumansOnline:
      return "the bot is hidden and a human agent is online";
    case BotAvailability::kNotTransferTarget:
      return "the bot does not accept transfers";
  }
  return "unknown";
}

}  // namespace kefu::kb
