// The management plane's event history (the latest events, the slow log) and its JSON.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgmt/events.h"
#include "mgmt/json.h"
#include "mgmt/log.h"

namespace ferrite::mgmt {
namespace {

engine::Event event_of(engine::EventType type) {
  engine::Event e;
  e.type = type;
  return e;
}

TEST(EventHistory, KeepsTheLatestAndTellsAReaderWhatItLost) {
  EventHistory h(4, 2);
  for (int i = 0; i < 6; ++i)
    h.add(event_of(i % 2 == 0 ? engine::EventType::kSlowRequest : engine::EventType::kNoMemory));
  EXPECT_EQ(h.next_seq(), 7u);
  EXPECT_EQ(h.size(), 4u);
  std::vector<Record> got;
  EXPECT_EQ(h.since(1, &got), 2u);  // 1 and 2 fell out
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got.front().seq, 3u);
  got.clear();
  EXPECT_EQ(h.since(6, &got), 0u);
  ASSERT_EQ(got.size(), 1u);
  got.clear();
  EXPECT_EQ(h.since(7, &got), 0u);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(h.slow_total(), 3u);
  ASSERT_EQ(h.slowlog().size(), 2u);
  EXPECT_EQ(h.slowlog().back().seq, 5u);
}

TEST(EventJson, HasTheTypedFieldsOfEachEvent) {
  engine::Event e = make_config_event(1000, "server.memory", "64MiB");
  JsonWriter w;
  write_event(Record{9, e}, w);
  EXPECT_EQ(
      w.str(),
      R"({"seq":9,"time":"1970-01-01T00:00:01.000Z","unix_ms":1000,"event":"config_changed","source":"mgmt",)"
      R"("key":"server.memory","value":"64MiB"})");
  e = event_of(engine::EventType::kConnectionsRefused);
  e.worker = 3;
  e.a = 12;
  JsonWriter w2;
  write_event(Record{1, e}, w2);
  EXPECT_NE(w2.str().find(R"("event":"connections_refused","worker":3,"refused":12})"), std::string::npos);
  EXPECT_EQ(event_level(engine::EventType::kEvictionStorm), Level::kWarn);
  // A long value is cut to what Event::text holds, never past it.
  const engine::Event long_one = make_config_event(0, "k", std::string(200, 'v'));
  EXPECT_EQ(config_change_of(long_one).second.size(), sizeof(engine::Event::text) - 3);
}

}  // namespace
}  // namespace ferrite::mgmt
