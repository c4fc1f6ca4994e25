// The management plane's JSON writer and reader.
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
        "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"", "[1] [2]", "{\"a\" 1}", "\"unterminated"}) {
    std::string error;
    EXPECT_FALSE(parse_json(bad, &error)) << bad;
    EXPECT_NE(error.find("offset"), std::string::npos) << bad;
  }
  std::string deep(200, '[');
  std::string error;
  EXPECT_FALSE(parse_json(deep + std::string(200, ']'), &error));
  EXPECT_NE(error.find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace ferrite::mgmt
