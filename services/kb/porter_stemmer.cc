#include "services/kb/porter_stemmer.h"

#include <initializer_list>
#include <utility>

#include "absl/strings/match.h"

namespace kefu::kb {
namespace {

// The algorithm as Porter published it ("An algorithm for suffix stripping", 1980),
// working on a buffer b[0..k] with j marking the end of the stem under test.
class Stemmer {
 public:
  explicit Stemmer(absl::string_view word) : b_(word) {}

  std::string Run() {
    if (b_.size() <= 2) return b_;
    k_ = static_cast<int>(b_.size()) - 1;
    Step1ab();
    if (k_ > 0) {
      Step1c();
      Step2();
      Step3();
      Step4();
      Step5();
    }
    return b_.substr(0, k_ + 1);
  }

 private:
  bool Cons(int i) const {
    switch (b_[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i == 0 ? true : !Cons(i - 1);
      default:
        return true;
    }
  }

  // m() counts VC sequences in b[0..j]: <c>(vc){m}<v>.
  int M() const {
    int n = 0;
    int i = 0;
    while (true) {
      if (i > j_) return n;
      if (!Cons(i)) break;
      ++i;
    }
    ++i;
    while (true) {
      while (true) {
        if (i > j_) return n;
        if (Cons(i)) break;
        ++i;
      }
      ++i;
      ++n;
      while (true) {
        if (i > j_) return n;
        if (!Cons(i)) break;
        ++i;
      }
      ++i;
    }
  }

  bool VowelInStem() const {
    for (int i = 0; i <= j_; ++i) {
      if (!Cons(i)) return true;
    }
    return false;
  }

  bool DoubleC(int j) const { return j >= 1 && b_[j] == b_[j - 1] && Cons(j); }

  // cvc(i): i-2,i-1,i is consonant-vowel-consonant and the last is not w, x or y.
  bool Cvc(int i) const {
    if (i < 2 || !Cons(i) || Cons(i - 1) || !Cons(i - 2)) return false;
    const char ch = b_[i];
    return ch != 'w' && ch != 'x' && ch != 'y';
  }

  bool Ends(absl::string_view s) {
    const int len = static_cast<int>(s.size());
    if (len > k_ + 1) return false;
    if (absl::string_view(b_).substr(k_ - len + 1, len) != s) return false;
    j_ = k_ - len;
    return true;
  }

  // Replaces b[j+1..k] with s.
  void SetTo(absl::string_view s) {
    b_.replace(j_ + 1, k_ - j_, s.data(), s.size());
    k_ = j_ + static_cast<int>(s.size());
  }

  void R(absl::string_view s) {
    if (M() > 0) SetTo(s);
  }

  void Step1ab() {
    if (b_[k_] == 's') {
      if (Ends("sses")) {
        k_ -= 2;
      } else if (Ends("ies")) {
        SetTo("i");
      } else if (b_[k_ - 1] != 's') {
        --k_;
      }
    }
    if (Ends("eed")) {
      if (M() > 0) --k_;
    } else if ((Ends("ed") || Ends("ing")) && VowelInStem()) {
      k_ = j_;
      if (Ends("at")) {
        SetTo("ate");
      } else if (Ends("bl")) {
        SetTo("ble");
      } else if (Ends("iz")) {
        SetTo("ize");
      } else if (DoubleC(k_)) {
        --k_;
        const char ch = b_[k_];
        if (ch == 'l' || ch == 's' || ch == 'z') ++k_;
      } else if (M() == 1 && Cvc(k_)) {
        SetTo("e");
      }
    }
  }

  void Step1c() {
    if (Ends("y") && VowelInStem()) b_[k_] = 'i';
  }

  bool Try(std::initializer_list<std::pair<absl::string_view, absl::string_view>> rules) {
    for (const auto& [suffix, replacement] : rules) {
      if (Ends(suffix)) {
        R(replacement);
        return true;
      }
    }
    return false;
  }

  void Step2() {
    if (k_ < 1) return;
    switch (b_[k_ - 1]) {
      case 'a':
        Try({{"ational", "ate"}, {"tional", "tion"}});
        break;
      case 'c':
        Try({{"enci", "ence"}, {"anci", "ance"}});
        break;
      case 'e':
        Try({{"izer", "ize"}});
        break;
      case 'l':
        Try({{"bli", "ble"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"}});
        break;
      case 'o':
        Try({{"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"}});
        break;
      case 's':
        Try({{"alism", "al"}, {"iveness", "ive"}, {"fulness", "ful"}, {"ousness", "ous"}});
        break;
      case 't':
        Try({{"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"}});
        break;
      case 'g':
        Try({{"logi", "log"}});
        break;
      default:
        break;
    }
  }

  void Step3() {
    switch (b_[k_]) {
      case 'e':
        Try({{"icate", "ic"}, {"ative", ""}, {"alize", "al"}});
        break;
      case 'i':
        Try({{"iciti", "ic"}});
        break;
      case 'l':
        Try({{"ical", "ic"}, {"ful", ""}});
        break;
      case 's':
        Try({{"ness", ""}});
        break;
      default:
        break;
    }
  }

  void Step4() {
    if (k_ < 1) return;
    bool found = false;
    switch (b_[k_ - 1]) {
      case 'a':
        found = Ends("al");
        break;
      case 'c':
        found = Ends("ance") || Ends("ence");
        break;
      case 'e':
        found = Ends("er");
        break;
      case 'i':
        found = Ends("ic");
        break;
      case 'l':
        found = Ends("able") || Ends("ible");
        break;
      case 'n':
        found = Ends("ant") || Ends("ement") || Ends("ment") || Ends("ent");
        break;
      case 'o':
        found = (Ends("ion") && j_ >= 0 && (b_[j_] == 's' || b_[j_] == 't')) || Ends("ou");
        break;
      case 's':
        found = Ends("ism");
        break;
      case 't':
        found = Ends("ate") || Ends("iti");
        break;
      case 'u':
        found = Ends("ous");
        break;
      case 'v':
        found = Ends("ive");
        break;
      case 'z':
        found = Ends("ize");
        break;
      default:
        break;
    }
    if (found && M() > 1) k_ = j_;
  }

  void Step5() {
    j_ = k_;
    if (b_[k_] == 'e') {
      const int a = M();
      if (a > 1 || (a == 1 && !Cvc(k_ - 1))) --k_;
    }
    if (b_[k_] == 'l' && DoubleC(k_) && M() > 1) --k_;
  }

  std::string b_;
  int k_ = 0;
  int j_ = 0;
};

}  // namespace

std::string PorterStem(absl::string_view word) {
  for (char c : word) {
    if (c < 'a' || c > 'z') return std::string(word);
  }
  return Stemmer(word).Run();
}

}  // namespace kefu::kb
