#pragma once

#include "absl/strings/string_view.h"

// When a bot may serve a customer (F41, 53KF manual 2.4/2.5): an offline bot does
// nothing; an auto-online bot is always online; a hidden bot serves only while every
// human agent of the entry point is offline; a bot takes transfers only when it accepts
// them. Pure functions: the caller brings presence ("humans online") from outside.
namespace kefu::kb {

struct BotFlags {
  bool online = false;
  bool auto_online = false;
  bool hidden = false;
  bool accept_transfer = false;
};

enum class BotAvailability {
  kServing,
  kOffline,             // neither online nor auto-online
  kHiddenHumansOnline,  // hidden, and a human agent of the entry point is online
  kNotTransferTarget,   // a contact was transferred to a bot that does not accept transfers
};

// How the contact reached the bot.
enum class BotArrival {
  kEntryPoint,  // the entry point's bot, bot first (the hidden rule applies)
  kTransfer,    // an agent transferred the contact to this bot
};

bool EffectiveOnline(const BotFlags& bot);

BotAvailability Availability(const BotFlags& bot, bool humans_online, BotArrival arrival);

inline bool Serves(const BotFlags& bot, bool humans_online, BotArrival arrival) {
  return Availability(bot, humans_online, arrival) == BotAvailability::kServing;
}

// Shown in transfer target lists (F18, F41): accepts transfers and is online.
inline bool IsTransferTarget(const BotFlags& bot) {
  return bot.accept_transfer && EffectiveOnline(bot);
}

absl::string_view AvailabilityText(BotAvailability availability);

}  // namespace kefu::kb
