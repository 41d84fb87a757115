#include "services/kb/synonyms.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "services/kb/text.h"

namespace kefu::kb {
namespace {

// One group a line, words separated by '|'; the first names the concept. Only words
// that mean the same thing to a shop's customer: 破损 (arrived damaged) and 故障 (stopped
// working) are different questions and stay apart.
constexpr absl::string_view kGroups[] = {
    // Chinese
    "运费|邮费|快递费|运输费",
    "快递|物流|快件|包裹",
    "退款|退钱|退费|钱退",
    "发货|寄出|发出|出库",
    "收到|拿到|收货",
    "故障|坏了|坏掉|不能用|用不了|失灵|不工作",
    "破损|压坏|摔坏|损坏|破了|压扁",
    "取消|撤销|撤回",
    "修改|更改|改成|变更",
    "账号|账户|帐号|帐户",
    "手机号|手机号码|电话号码",
    "发票|收据",
    "优惠券|代金券|折扣券|优惠码|券",
    "保修|质保|保固",
    "维修|修理|返修|报修",
    "换货|调换",
    "尺码|码数|尺寸",
    "支付|付款|付钱|买单|结账",
    "银行卡|借记卡|储蓄卡",
    "多久|几天|多长时间",
    "注销|删除|删掉",
    "冻结|封号|封了|锁定",
    "评价|评论",
    "价保|保价|价格保护",
    "降价|便宜了|跌价",
    "缺货|没货|无货|断货",
    "海外|国外|境外",
    "自提|自取",
    "验证码|校验码",
    "拆封|开封|拆开|打开",
    "停滞|不更新|没更新|不动|没动|卡住",
    "新增|添加|增加|加一个",
    "扣费|扣钱|收费",
    "到货|有货|补货",
    "写错|填错|弄错",
    "海外|国外|境外|美国|日本|韩国|英国|加拿大|澳大利亚|德国|法国|新加坡",
    // English
    "parcel|package|shipment",
    "shipping|postage|delivery",
    "refund|money back|reimburse",
    "cost|fee",
    "gift|present",
    "invoice|receipt",
    "repair|fix|mend",
    "broken|faulty|defective|malfunction",
    "coupon|voucher|promo code|discount code|promotion code",
    "unsubscribe|opt out",
    "delete|remove|erase",
    "order|purchase",
    "exchange|swap",
    "instalment|installment|pay later",
    "wrong|incorrect",
    "late|delayed",
    "express|expedited|overnight|next day",
    "warranty|guarantee",
    "point|reward",
    "email|e-mail",
    "cancel|call off",
    "abroad|overseas|international|germany|france|japan|australia|singapore|korea",
    "po box|post office box|p o box",
};

struct Member {
  std::u32string han;              // Han member
  std::vector<std::string> words;  // English member, stemmed
  uint32_t group = 0;
};

struct Thesaurus {
  std::vector<std::string> concept_terms;  // by group
  absl::flat_hash_map<char32_t, std::vector<Member>> han_by_first;
  absl::flat_hash_map<std::string, std::vector<Member>> words_by_first;
};

const Thesaurus& GetThesaurus() {
  static const auto* thesaurus = [] {
    auto* t = new Thesaurus();
    for (absl::string_view line : kGroups) {
      const auto group = static_cast<uint32_t>(t->concept_terms.size());
      std::vector<absl::string_view> members = absl::StrSplit(line, '|');
      t->concept_terms.push_back("~" + FoldText(members[0]));
      for (absl::string_view raw : members) {
        Member m;
        m.group = group;
        size_t pos = 0;
        bool han_only = true;
        while (pos < raw.size()) {
          const char32_t cp = FoldCodePoint(NextCodePoint(raw, &pos));
          if (!IsHan(cp)) {
            han_only = false;
            break;
          }
          m.han.push_back(cp);
        }
        if (han_only && !m.han.empty()) {
          const char32_t first = m.han[0];
          t->han_by_first[first].push_back(std::move(m));
          continue;
        }
        m.han.clear();
        for (Token& token : Tokenize(raw, /*concepts=*/false)) {
          if (token.kind == TokenKind::kWord || token.kind == TokenKind::kNumber) {
            m.words.push_back(std::move(token.term));
          }
        }
        if (m.words.empty()) continue;
        const std::string first = m.words[0];
        t->words_by_first[first].push_back(std::move(m));
      }
    }
    return t;
  }();
  return *thesaurus;
}

}  // namespace

void AddConceptTokens(absl::string_view text, std::vector<Token>* tokens) {
  const Thesaurus& t = GetThesaurus();
  std::vector<Token> concepts;
  absl::flat_hash_map<uint32_t, uint32_t> last_end;  // group -> end of its last token
  const auto emit = [&](uint32_t group, uint32_t begin, uint32_t end) {
    auto [it, inserted] = last_end.try_emplace(group, 0);
    if (!inserted && begin < it->second) return;  // overlaps the group's last match
    it->second = end;
    Token c;
    c.term = t.concept_terms[group];
    c.begin = begin;
    c.end = end;
    c.kind = TokenKind::kConcept;
    concepts.push_back(std::move(c));
  };

  struct Cp {
    char32_t cp;
    uint32_t begin;
    uint32_t end;
  };
  // Particles inside a word are skipped: 退的钱 holds 退钱, 刻了字 holds 刻字.
  std::vector<Cp> cps;
  size_t pos = 0;
  while (pos < text.size()) {
    const auto begin = static_cast<uint32_t>(pos);
    const char32_t cp = FoldCodePoint(NextCodePoint(text, &pos));
    if ((cp == U'了' || cp == U'的') && !cps.empty() && IsHan(cps.back().cp)) continue;
    cps.push_back({cp, begin, static_cast<uint32_t>(pos)});
  }
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!IsHan(cps[i].cp)) continue;
    auto it = t.han_by_first.find(cps[i].cp);
    if (it == t.han_by_first.end()) continue;
    for (const Member& m : it->second) {
      if (i + m.han.size() > cps.size()) continue;
      bool match = true;
      for (size_t k = 1; k < m.han.size() && match; ++k) match = cps[i + k].cp == m.han[k];
      if (match) emit(m.group, cps[i].begin, cps[i + m.han.size() - 1].end);
    }
  }

  std::vector<const Token*> words;
  for (const Token& token : *tokens) {
    if (token.kind == TokenKind::kWord || token.kind == TokenKind::kNumber) {
      words.push_back(&token);
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    auto it = t.words_by_first.find(words[i]->term);
    if (it == t.words_by_first.end()) continue;
    for (const Member& m : it->second) {
      if (i + m.words.size() > words.size()) continue;
      bool match = true;
      for (size_t k = 1; k < m.words.size() && match; ++k) {
        match = words[i + k]->term == m.words[k];
      }
      if (match) emit(m.group, words[i]->begin, words[i + m.words.size() - 1]->end);
    }
  }
  for (Token& c : concepts) tokens->push_back(std::move(c));
}

}  // namespace kefu::kb
