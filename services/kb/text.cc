#include "services/kb/text.h"

#include "absl/container/flat_hash_map.h"

namespace kefu::kb {
namespace {

// Traditional -> simplified, pairs of characters. Only one-to-one mappings of words
// customers of a shop use; the rest of a traditional text still matches by the
// characters both scripts share.
constexpr absl::string_view kTraditionalPairs =
    "貨货發发運运單单訂订帳账賬账號号碼码費费換换錢钱買买賣卖務务國国達达遞递郵邮會会員员"
    "優优積积點点問问題题麼么實实頁页網网處处壞坏損损價价額额開开關关機机戶户護护車车東东"
    "這这個个們们嗎吗還还沒没為为說说請请電电話话時时間间長长幾几裡里裏里後后認认證证綁绑"
    "銀银幣币減减滿满贈赠禮礼質质檢检驗验顏颜樣样舊旧簽签遲迟區区縣县聯联繫系係系線线轉转"
    "團团購购結结寶宝紅红餘余儲储體体評评訴诉該该詢询兌兑現现臺台灣湾門门陸陆應应對对給给"
    "從从過过進进讓让記记錄录歷历紀纪設设計计創创權权雙双種种類类別别標标準准態态總总統统"
    "義义議议讀读寫写業业產产廠厂貼贴續续紙纸張张條条據据稅税頭头隨随邊边氣气溫温濕湿淨净"
    "筆笔錶表鐘钟襪袜褲裤裝装飾饰飯饭麵面雞鸡魚鱼鮮鲜蘋苹動动靜静聽听見见視视覺觉親亲愛爱"
    "歡欢樂乐選选擇择擔担擾扰尋寻導导將将專专屬属層层嚴严獲获殘残壓压廣广錯错誤误補补償偿"
    "賠赔約约絕绝維维無无須须顧顾預预領领頻频願愿風风飛飞馬马鬆松齊齐億亿僅仅兩两剛刚劃划"
    "勞劳匯汇卻却參参雜杂難难圍围園园圖图場场塊块夠够奮奋寄寄窩窝帶带幫帮彈弹徑径態态慣惯"
    "憑凭戲戏揀拣換换撥拨擊击斷断傳传優优儘尽傷伤僱雇價价億亿兒儿內内冊册凍冻剩剩劑剂勢势"
    "協协卻却廳厅縮缩績绩織织網网綠绿藍蓝黃黄灑洒濾滤熱热燈灯獎奖環环瑪玛產产畫画癥症盡尽"
    "監监盤盘確确碼码礦矿稱称穩稳競竞筆笔範范簡简籤签糧粮級级紛纷細细終终組组經经綜综緊紧"
    "編编緩缓練练縫缝繳缴羅罗義义習习聖圣腦脑膚肤臉脸興兴艙舱艦舰範范萬万葉叶藥药處处"
    "號号蟲虫衛卫補补複复襯衬規规親亲覽览觸触訊讯託托記记訪访設设許许診诊詞词試试詳详誌志"
    "語语誠诚調调談谈請请論论諮咨謝谢證证護护讚赞貝贝負负財财責责貴贵貸贷費费貿贸資资賓宾"
    "賺赚購购贏赢趕赶趨趋跡迹踐践軟软載载較较輕轻輛辆輸输辦办農农遠远適适選选遺遗還还邏逻"
    "醫医釋释針针鈕钮鋪铺鏈链鐵铁門门閉闭閒闲閱阅闆板際际隊队雖虽離离電电需需靈灵韓韩響响"
    "順顺頸颈顯显飲饮飽饱餅饼館馆駛驶驗验鬧闹麗丽黨党齡龄";

const absl::flat_hash_map<char32_t, char32_t>& TraditionalMap() {
  static const auto* map = [] {
    auto* m = new absl::flat_hash_map<char32_t, char32_t>();
    size_t pos = 0;
    while (pos < kTraditionalPairs.size()) {
      char32_t from = NextCodePoint(kTraditionalPairs, &pos);
      if (pos >= kTraditionalPairs.size()) break;
      char32_t to = NextCodePoint(kTraditionalPairs, &pos);
      if (from != to) m->emplace(from, to);
    }
    return m;
  }();
  return *map;
}

}  // namespace

char32_t NextCodePoint(absl::string_view text, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const size_t i = *pos;
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    *pos = i + 1;
    return 0xFFFD;
  }
  if (i + len > text.size()) {
    *pos = i + 1;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      *pos = i + 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms (C0 BC for '<'), surrogates and values above U+10FFFF are not UTF-8:
  // decoded, they re-encoded as invalid UTF-8 and passed ValidUtf8 (kb/validation.cc).
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    *pos = i + 1;
    return 0xFFFD;
  }
  *pos = i + len;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t FoldCodePoint(char32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) cp = cp - 0xFF01 + 0x21;  // full-width ASCII
  if (cp == 0x3000) return ' ';                               // ideographic space
  if (cp >= 'A' && cp <= 'Z') return cp + ('a' - 'A');
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;  // Latin-1 capitals
  if (cp >= 0x3400) {
    const auto& map = TraditionalMap();
    if (auto it = map.find(cp); it != map.end()) return it->second;
  }
  return cp;
}

bool IsHan(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F);
}

bool IsAsciiAlnum(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

TextLanguage DetectLanguage(absl::string_view text) {
  size_t han = 0;
  size_t latin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t cp = FoldCodePoint(NextCodePoint(text, &pos));
    if (IsHan(cp)) {
      ++han;
    } else if (cp >= 'a' && cp <= 'z') {
      ++latin;
    }
  }
  // A Han character carries about as much as an English word of ~3 letters.
  if (han > 0 && han * 3 >= latin / 2) return TextLanguage::kChinese;
  if (latin > 0) return TextLanguage::kEnglish;
  return TextLanguage::kUnknown;
}

absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

size_t CodePointCount(absl::string_view text) {
  size_t count = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    NextCodePoint(text, &pos);
    ++count;
  }
  return count;
}

std::string FoldText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = FoldCodePoint(NextCodePoint(text, &pos));
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    AppendUtf8(cp, &out);
  }
  return out;
}

}  // namespace kefu::kb
