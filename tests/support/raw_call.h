#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace kefu::testing {

// Calls `full_method` ("/pkg.Service/Method") with an empty request message, whatever
// its type, and the bearer `token` unless empty; returns the status the server sent.
// Works for streaming methods too: the server sees one empty message and a half-close.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& full_method,
                     const std::string& token);

}  // namespace kefu::testing
