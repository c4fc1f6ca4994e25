// What each protocol registers with the worker (engine/session.h's StreamService, and a session's
// out_of_memory_reply()): the words a refused connection hears, byte for byte as memcached, Redis
// and Ferrite's HTTP listener said them when the worker held them, and memcached's first-byte rule.
#include <memory>
#include <string_view>

#include <gtest/gtest.h>

#include "engine/binary/binary.h"
#include "engine/http/session.h"
#include "engine/memcache/memcache.h"
#include "engine/resp/resp_session.h"
#include "engine/session.h"

namespace ferrite::engine {
namespace {

TEST(StreamServices, RefusalsInEachProtocolsWords) {
  EXPECT_EQ(memcache_service().refusal, "ERROR Too many open connections\r\n");
  EXPECT_EQ(resp_service().refusal, "-ERR max number of clients reached\r\n");
  EXPECT_EQ(http_service().refusal,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
            "Connection: close\r\n\r\ntoo many open connections\r\n\r\n");
  EXPECT_EQ(binary_service().refusal, "");  // closed without a word
}

TEST(StreamServices, OutOfMemoryInEachProtocolsWords) {
  ConnInfo info;
  EXPECT_EQ(make_memcache_text_session(info)->out_of_memory_reply(),
            "SERVER_ERROR out of memory reading request\r\n");
  EXPECT_EQ(make_resp_session(info)->out_of_memory_reply(),
            "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  EXPECT_EQ(make_http_session(info)->out_of_memory_reply(),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
            "Connection: close\r\n\r\nout of memory\n");
  EXPECT_EQ(make_binary_session(info)->out_of_memory_reply(), "");
  EXPECT_EQ(memcache_service().make(info, "\x80")->out_of_memory_reply(), "");  // memcached binary
}

// Only the memcache port waits for the first bytes; the others make their session at accept.
TEST(StreamServices, MemcachePicksItsSessionByTheFirstByte) {
  ConnInfo info;
  const StreamService mc = memcache_service();
  EXPECT_TRUE(mc.by_first_bytes);
  EXPECT_EQ(mc.make(info, "\x80\x00")->proto(), Proto::kMemcacheBinary);
  EXPECT_EQ(mc.make(info, "get a\r\n")->proto(), Proto::kMemcacheText);
  EXPECT_EQ(mc.make(info, "\x81")->proto(), Proto::kMemcacheText);  // a response magic is not binary
  EXPECT_EQ(mc.make(info, "mg a v\r\n")->proto(), Proto::kMemcacheText);
  EXPECT_FALSE(resp_service().by_first_bytes);
  EXPECT_EQ(resp_service().make(info, {})->proto(), Proto::kResp);
  EXPECT_FALSE(http_service().by_first_bytes);
  EXPECT_EQ(http_service().make(info, {})->proto(), Proto::kHttp);
  EXPECT_FALSE(binary_service().by_first_bytes);
  EXPECT_EQ(binary_service().make(info, {})->proto(), Proto::kBinary);
}

}  // namespace
}  // namespace ferrite::engine
