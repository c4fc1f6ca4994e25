// The management plane's building blocks: the JSON writer and the clients' reader (nlohmann-json
// underneath), log lines, the event history and the rate window.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "mgmt/events.h"
#include "mgmt/json.h"
#include "mgmt/json_reader.h"
#include "mgmt/log.h"
#include "mgmt/rates.h"

namespace ferrite::mgmt {
namespace {

TEST(JsonWriter, PlacesCommasAndNests) {
  JsonWriter w;
  w.begin_object();
  w.field("a", 1);
  w.key("b").begin_array().value("x").value(true).null().begin_object().end_object().end_array();
  w.field("c", -2L);
  w.key("d").begin_array().end_array();
  w.end_object();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x",true,null,{}],"c":-2,"d":[]})");
}

TEST(JsonWriter, WritesNumbersExactlyAndNonFiniteAsNull) {
  JsonWriter w;
  w.begin_array();
  w.value(std::numeric_limits<std::uint64_t>::max());
  w.value(std::numeric_limits<std::int64_t>::min());
  w.value(0.25);
  w.value(std::nan(""));
  w.value(std::numeric_limits<double>::infinity());
  w.value(1e21);
  w.end_array();
  EXPECT_EQ(w.str(), "[18446744073709551615,-9223372036854775808,0.25,null,null,1e+21]");
}

TEST(JsonWriter, EscapesStrings) {
  std::string out;
  append_json_string(std::string_view("q\"b\\n\n\t\x01\x7f", 9), &out);
  EXPECT_EQ(out, R"("q\"b\\n\n\t\u0001\u007f")");
  out.clear();
  append_json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &out);  // valid UTF-8 passes through
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  out.clear();
  // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a surrogate.
  append_json_string("\x80 \xc3 \xc0\xaf \xed\xa0\x80", &out);
  EXPECT_EQ(out, R"("\u0080 \u00c3 \u00c0\u00af \u00ed\u00a0\u0080")");
}

TEST(JsonReader, ReadsWhatTheWriterWrites) {
  JsonWriter w;
  w.begin_object();
  w.field("s", std::string_view("a\"\\\n\x01z\xff", 7));
  w.field("big", std::numeric_limits<std::uint64_t>::max());
  w.field("neg", -42);
  w.field("f", 2.5);
  w.key("arr").begin_array().value(false).null().end_array();
  w.end_object();
  std::string error;
  const auto v = parse_json(w.str(), &error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ((*v)["s"].as_string(), "a\"\\\n\x01z\xc3\xbf");  // 0xff came back as U+00FF
  EXPECT_EQ((*v)["big"].as_uint(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ((*v)["neg"].as_int(), -42);
  EXPECT_DOUBLE_EQ((*v)["f"].as_double(), 2.5);
  EXPECT_EQ((*v)["f"].as_int(), 2);
  EXPECT_FALSE((*v)["arr"][0].as_bool(true));
  EXPECT_TRUE((*v)["arr"][1].is_null());
  EXPECT_TRUE((*v)["missing"].is_null());
  EXPECT_TRUE((*v)["arr"][9].is_null());
}

TEST(JsonReader, DecodesEscapesAndSurrogatePairs) {
  std::string error;
  const auto v = parse_json(R"(["\u00e9\u20ac\ud83d\ude00\/\b\f\r\t"])", &error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ((*v)[0].as_string(), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\b\f\r\t");
}

TEST(JsonReader, RejectsWhatIsNotJson) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", "-", "1e", "tru", "nul", "\"\\x\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"", "[1] [2]", "{\"a\" 1}", "\"unterminated",
        "[1] // c", "\"\xff\""}) {
    std::string error;
    EXPECT_FALSE(parse_json(bad, &error)) << bad;
    EXPECT_EQ(error.rfind("offset ", 0), 0u) << bad << ": " << error;
  }
  std::string error;
  EXPECT_FALSE(parse_json("[1e400]", &error));  // beyond a double: refused, not thrown
  EXPECT_NE(error.find("number overflow"), std::string::npos) << error;
}

TEST(JsonReader, ViewsNeverThrow) {
  std::string error;
  const auto v = parse_json(R"({"n":-3,"u":18446744073709551615,"f":-2.75,"s":"x","a":[1],"o":{"k":1}})", &error);
  ASSERT_TRUE(v) << error;
  // Members keep the order they were written in.
  const auto members = v->members();
  ASSERT_EQ(members.size(), 6u);
  EXPECT_EQ(members[0].first, "n");
  EXPECT_EQ(members[5].first, "o");
  EXPECT_EQ((*v)["n"].as_uint(7), 7u);  // negative: the fallback
  EXPECT_EQ((*v)["u"].as_int(7), 7);    // over int64: the fallback
  EXPECT_EQ((*v)["f"].as_int(), -2);    // toward zero
  EXPECT_EQ((*v)["f"].as_string(), "-2.75");
  EXPECT_EQ((*v)["u"].as_string(), "18446744073709551615");
  EXPECT_EQ((*v)["s"].as_int(5), 5);
  EXPECT_EQ((*v)["s"]["k"].size(), 0u);
  EXPECT_TRUE((*v)["a"]["k"].is_null());
  EXPECT_TRUE((*v)["o"][0].is_null());
  EXPECT_TRUE((*v)["o"].contains("k"));
  EXPECT_FALSE((*v)["a"].contains("k"));
  EXPECT_TRUE((*v)["s"].items().empty());
  EXPECT_TRUE((*v)["a"].members().empty());
  // A value outlives the document it came from.
  JsonValue kept;
  {
    const auto doc = parse_json(R"({"a":{"b":"kept"}})", &error);
    ASSERT_TRUE(doc);
    kept = (*doc)["a"];
  }
  EXPECT_EQ(kept["b"].as_string(), "kept");
}

TEST(LogLine, IsTimestampLevelComponentAndPairs) {
  LogLine l(Level::kWarn, "worker", 1'700'000'000'123);
  l.kv("event", "eviction_storm")
      .kv("worker", 1u)
      .kv("n", -5)
      .kv("text", "two words")
      .kv("q", "a\"b\n")
      .kv("e", "");
  EXPECT_EQ(l.str(),
            "2023-11-14T22:13:20.123Z warn worker event=eviction_storm worker=1 n=-5 text=\"two words\" "
            "q=\"a\\\"b\\n\" e=\"\"\n");
}

TEST(Logger, FollowsTheLiveLevel) {
  std::atomic<int> verbosity{1};  // warn
  std::vector<std::string> lines;
  Logger log(&verbosity, [&](std::string_view s) { lines.emplace_back(s); });
  log.write(LogLine(Level::kInfo, "mgmt", 0).kv("a", 1));
  log.write(LogLine(Level::kWarn, "mgmt", 0).kv("a", 2));
  verbosity = 3;
  log.write(LogLine(Level::kDebug, "mgmt", 0).kv("a", 3));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(" warn mgmt a=2"), std::string::npos);
  EXPECT_NE(lines[1].find(" debug mgmt a=3"), std::string::npos);
}

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

TEST(RateWindow, KeepsOneMinuteAndDiffsSamples) {
  RateWindow r;
  EXPECT_EQ(r.rates().ops_per_second, 0.0);
  for (int i = 0; i <= 100; ++i) {
    Sample s;
    s.mono_ms = static_cast<std::uint64_t>(i) * 1000;
    s.requests = i * 10;
    s.evictions = i < 50 ? 0 : (i - 50) * 6;
    s.hits = i * 3;
    s.misses = i;
    s.workers.push_back(WorkerSample{i * 10, i * 100, i * 400, 0});
    r.add(std::move(s));
  }
  EXPECT_EQ(r.size(), RateWindow::kSeconds + 1);
  const Rates x = r.rates();
  EXPECT_DOUBLE_EQ(x.window_seconds, 60.0);
  EXPECT_DOUBLE_EQ(x.ops_per_second, 10.0);
  EXPECT_DOUBLE_EQ(x.evictions_per_second, 6.0);
  EXPECT_DOUBLE_EQ(x.evictions_per_second_1m, 5.0);  // 300 evictions over the 60 s kept
  ASSERT_TRUE(x.hit_ratio_1m);
  EXPECT_DOUBLE_EQ(*x.hit_ratio_1m, 0.75);
  ASSERT_EQ(x.worker_busy_ratio.size(), 1u);
  EXPECT_DOUBLE_EQ(x.worker_busy_ratio[0], 0.25);
  EXPECT_DOUBLE_EQ(x.worker_busy_ratio_1m[0], 0.25);
}

}  // namespace
}  // namespace ferrite::mgmt
