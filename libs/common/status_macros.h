#pragma once

// Abseil 20220623 ships no status macros; these are the two every layer uses.

#define KEFU_STATUS_CONCAT_INNER_(a, b) a##b
#define KEFU_STATUS_CONCAT_(a, b) KEFU_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define KEFU_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status kefu_status_ = (expr);        \
    if (!kefu_status_.ok()) return kefu_status_; \
  } while (false)

// `KEFU_ASSIGN_OR_RETURN(auto x, Foo());` moves the value of a StatusOr into `x`,
// or returns its status from the enclosing function.
#define KEFU_ASSIGN_OR_RETURN(lhs, expr) \
  KEFU_ASSIGN_OR_RETURN_IMPL_(KEFU_STATUS_CONCAT_(kefu_statusor_, __LINE__), lhs, expr)

// `lhs` is a declaration ("auto x"), so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define KEFU_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)
