#include "proto/resp/resp_writer.h"

#include "proto/resp/resp_number.h"

namespace ferrite::proto::resp {

void Writer::error(std::string_view message) {
  message = message.substr(0, message.find('\0'));
  char* p = out_->prepare(message.size() + 3);
  p[0] = '-';
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    p[i + 1] = c == '\r' || c == '\n' ? ' ' : c;
  }
  p[message.size() + 1] = '\r';
  p[message.size() + 2] = '\n';
  out_->advance(message.size() + 3);
}

void Writer::boolean(bool b) {
  if (resp3_) {
    out_->append(b ? std::string_view("#t\r\n") : std::string_view("#f\r\n"));
  } else {
    out_->append(b ? std::string_view(":1\r\n") : std::string_view(":0\r\n"));
  }
}

void Writer::dbl(double v) {
  char buf[32];
  const std::size_t n = format_double(v, buf);
  if (!resp3_) {
    bulk({buf, n});
    return;
  }
  out_->push_back(',');
  out_->append(buf, n);
  crlf();
}

void Writer::verbatim(std::string_view format, std::string_view text) {
  if (!resp3_) {
    bulk(text);
    return;
  }
  header('=', format.size() + 1 + text.size());
  out_->append(format);
  out_->push_back(':');
  out_->append(text);
  crlf();
}

}  // namespace ferrite::proto::resp
