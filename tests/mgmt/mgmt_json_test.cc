// The management plane's JSON writer and the clients' reader (nlohmann-json underneath).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "mgmt/json.h"
#include "mgmt/json_reader.h"

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

}  // namespace
}  // namespace ferrite::mgmt
