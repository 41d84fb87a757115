// CSV export of every report (F61-F67): RFC 4180, UTF-8 with a BOM so spreadsheet apps
// read the Chinese headers, CRLF line ends. Durations are seconds with 3 decimals, rates
// fractions with 4, times RFC 3339 UTC.
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/reporting/reporting_service.h"

namespace kefu::reporting {
namespace {

using google::protobuf::util::TimeUtil;

std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

class Csv {
 public:
  Csv() : out_("\xEF\xBB\xBF") {}
  void Row(const std::vector<std::string>& cells) {
    std::vector<std::string> quoted;
    for (const auto& c : cells) quoted.push_back(Field(c));
    out_ += absl::StrJoin(quoted, ",") + "\r\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string Sec(const google::protobuf::Duration& d) {
  return absl::StrFormat("%.3f", static_cast<double>(TimeUtil::DurationToMicroseconds(d)) / 1e6);
}
std::string Rate(double r) { return absl::StrFormat("%.4f", r); }
std::string Num(int64_t n) { return absl::StrCat(n); }
std::string Time(const google::protobuf::Timestamp& t, bool set) {
  return set ? TimeUtil::ToString(t) : "";
}

const std::vector<std::pair<const char*, const char*>> kCountCols = {
    {"总数", "total"},
    {"有效", "valid"},
    {"无效", "invalid"},
    {"接通", "connected"},
    {"接通率", "connection_rate"},
    {"放弃", "abandoned"},
    {"留言", "offline_messages"},
    {"转接", "transferred"},
    {"平均等待(秒)", "average_wait_s"},
    {"平均时长(秒)", "average_duration_s"}};

std::vector<std::string> Counts(const v1::DialogCounts& c) {
  return {Num(c.total()),
          Num(c.valid()),
          Num(c.invalid()),
          Num(c.connected()),
          Rate(c.connection_rate()),
          Num(c.abandoned()),
          Num(c.offline_messages()),
          Num(c.transferred()),
          Sec(c.average_wait()),
          Sec(c.average_duration())};
}

}  // namespace

absl::StatusOr<std::string> RenderCsv(ReportServiceImpl& service, const auth::Claims& caller,
                                      const v1::ExportCsvRequest& request, std::string* file_name) {
  const bool zh = request.language() != kefu::common::v1::LANGUAGE_EN;
  Csv csv;
  auto header = [&](std::vector<std::pair<const char*, const char*>> cols, bool counts) {
    if (counts) cols.insert(cols.end(), kCountCols.begin(), kCountCols.end());
    std::vector<std::string> cells;
    for (const auto& [z, e] : cols) cells.push_back(zh ? z : e);
    csv.Row(cells);
  };
  switch (request.report_case()) {
    case v1::ExportCsvRequest::kSatisfaction: {
      v1::GetSatisfactionReportResponse r;
      KEFU_RETURN_IF_ERROR(service.Satisfaction(caller, request.satisfaction(), true, &r));
      const bool dept = request.satisfaction().grouping() == v1::SATISFACTION_GROUPING_DEPARTMENT;
      *file_name = dept ? "satisfaction_by_group.csv" : "satisfaction_by_agent.csv";
      header({dept ? std::pair{"部门", "department_id"} : std::pair{"客服", "agent_id"},
              {"对话数", "dialogs"},
              {"评价数", "rated"},
              {"参评率", "rating_rate"},
              {"平均分", "average_score"},
              {"1分", "score_1"},
              {"2分", "score_2"},
              {"3分", "score_3"},
              {"4分", "score_4"},
              {"5分", "score_5"},
              {"满意率", "satisfied_rate"}},
             false);
      for (const auto& row : r.rows()) {
        std::vector<std::string> cells = {dept ? row.department_id() : row.agent_id(),
                                          Num(row.dialog_count()), Num(row.rated_count()),
                                          Rate(row.rating_rate()), Rate(row.average_score())};
        for (int64_t c : row.score_counts()) cells.push_back(Num(c));
        cells.push_back(Rate(row.satisfied_rate()));
        csv.Row(cells);
      }
      break;
    }
    case v1::ExportCsvRequest::kGroupDaily: {
      v1::GetGroupDailyReportResponse r;
      KEFU_RETURN_IF_ERROR(service.GroupDaily(caller, request.group_daily(), true, &r));
      *file_name = "group_daily.csv";
      header({{"日期", "date"}, {"部门", "department_id"}}, true);
      for (const auto& row : r.rows()) {
        std::vector<std::string> cells = {row.date(), row.department_id()};
        for (auto& c : Counts(row.counts())) cells.push_back(std::move(c));
        csv.Row(cells);
      }
      break;
    }
    case v1::ExportCsvRequest::kGroupHourly: {
      v1::GetGroupHourlyReportResponse r;
      KEFU_RETURN_IF_ERROR(service.GroupHourly(caller, request.group_hourly(), true, &r));
      *file_name = "group_hourly.csv";
      header({{"日期", "date"}, {"小时", "hour"}, {"部门", "department_id"}}, true);
      for (const auto& row : r.rows()) {
        std::vector<std::string> cells = {row.date(), Num(row.hour()), row.department_id()};
        for (auto& c : Counts(row.counts())) cells.push_back(std::move(c));
        csv.Row(cells);
      }
      break;
    }
    case v1::ExportCsvRequest::kAgentDaily: {
      v1::GetAgentDailyReportResponse r;
      KEFU_RETURN_IF_ERROR(service.AgentDaily(caller, request.agent_daily(), true, &r));
      *file_name = "agent_daily.csv";
      header({{"日期", "date"}, {"客服", "agent_id"}}, true);
      for (const auto& row : r.rows()) {
        std::vector<std::string> cells = {row.date(), row.agent_id()};
        for (auto& c : Counts(row.counts())) cells.push_back(std::move(c));
        csv.Row(cells);
      }
      break;
    }
    case v1::ExportCsvRequest::kOnlineTime: {
      v1::GetOnlineTimeReportResponse r;
      KEFU_RETURN_IF_ERROR(service.OnlineTime(caller, request.online_time(), true, &r));
      *file_name = "online_time.csv";
      header({{"客服", "agent_id"},
              {"日期", "date"},
              {"登录次数", "logins"},
              {"退出次数", "logouts"},
              {"首次登录", "first_login_time"},
              {"最后退出", "last_logout_time"},
              {"登录时长(秒)", "logged_in_s"},
              {"在线(秒)", "online_s"},
              {"忙碌(秒)", "busy_s"},
              {"离开(秒)", "away_s"},
              {"离线(秒)", "offline_s"},
              {"离座次数", "seat_empty_count"}},
             false);
      for (const auto& row : r.rows()) {
        std::vector<std::string> cells = {row.agent_id(),
                                          row.date(),
                                          Num(row.login_count()),
                                          Num(row.logout_count()),
                                          Time(row.first_login_time(), row.has_first_login_time()),
                                          Time(row.last_logout_time(), row.has_last_logout_time()),
                                          Sec(row.logged_in())};
        for (const auto& d : row.status_durations()) cells.push_back(Sec(d.duration()));
        cells.push_back(Num(row.seat_empty_count()));
        csv.Row(cells);
      }
      break;
    }
    case v1::ExportCsvRequest::kOfflineMessages: {
      v1::GetOfflineMessageReportResponse r;
      KEFU_RETURN_IF_ERROR(service.OfflineMessages(caller, request.offline_messages(), true, &r));
      *file_name = "offline_messages.csv";
      header({{"日期", "date"},
              {"部门", "department_id"},
              {"收到", "received"},
              {"已回复", "replied"},
              {"待回复", "pending"},
              {"回复率", "reply_rate"},
              {"平均回复时间(秒)", "average_reply_s"},
              {"最长回复时间(秒)", "max_reply_s"}},
             false);
      for (const auto& row : r.rows()) {
        csv.Row({row.date(), row.department_id(), Num(row.received()), Num(row.replied()),
                 Num(row.pending()), Rate(row.reply_rate()), Sec(row.average_reply_time()),
                 Sec(row.max_reply_time())});
      }
      break;
    }
    case v1::ExportCsvRequest::kAgentScorecard: {
      v1::GetAgentScorecardResponse r;
      KEFU_RETURN_IF_ERROR(service.Scorecard(caller, request.agent_scorecard(), true, &r));
      *file_name = "agent_scorecard.csv";
      header({{"客服", "agent_id"},
              {"首次登录", "first_login_time"},
              {"登录时长(秒)", "login_s"},
              {"在线时长(秒)", "online_s"},
              {"咨询量", "consultations"},
              {"有效咨询", "valid_consultations"},
              {"总时长(秒)", "total_dialog_s"},
              {"平均时长(秒)", "average_dialog_s"},
              {"评价数", "rated"},
              {"平均评分", "average_rating"},
              {"应答率", "answer_rate"},
              {"平均响应(秒)", "average_response_s"}},
             false);
      for (const auto& row : r.rows()) {
        csv.Row({row.agent_id(), Time(row.first_login_time(), row.has_first_login_time()),
                 Sec(row.login_duration()), Sec(row.online_duration()), Num(row.consultations()),
                 Num(row.valid_consultations()), Sec(row.total_dialog_duration()),
                 Sec(row.average_dialog_duration()), Num(row.rated_count()),
                 Rate(row.average_rating()), Rate(row.answer_rate()),
                 Sec(row.average_response_time())});
      }
      break;
    }
    default:
      return InvalidField("report", "name one report to export");
  }
  return csv.Take();
}

}  // namespace kefu::reporting
