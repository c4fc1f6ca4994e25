// Fuzzes the management plane's request handling: the input, split into lines, goes to
// Plane::handle. Every reply must be one line of valid JSON with a boolean "ok", and a blank line
// gets none. No worker serves the inboxes here (commands that ask them answer with an error).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "engine/session.h"
#include "../engine_test_util.h"
#include "mgmt/json_reader.h"
#include "mgmt/plane.h"
#include "store/partitions.h"
#include "store/store.h"

namespace {

using namespace ferrite;

class NoConfig final : public engine::testing::NamedConfig {
 public:
  using NamedConfig::get;
  using NamedConfig::set;
  std::vector<std::pair<std::string, std::string>> get(std::string_view glob) const override {
    if (glob == "*" || glob == "log.level") return {{"log.level", "info"}};
    return {};
  }
  std::string set(std::string_view key, std::string_view) override { return std::string(key) + ": not live"; }
};

struct World {
  World() {
    store::StoreConfig sc;
    sc.memory_limit = 8u << 20;
    sc.max_contexts = 1;
    store = std::make_unique<store::Partitions>(sc, 1);
    shared.store = store.get();
    shared.config = &config;
    shared.worker_stats.push_back(&stats);
    mgmt::PlaneOptions o;
    o.worker_timeout = std::chrono::milliseconds(0);
    plane = std::make_unique<mgmt::Plane>(shared, std::move(o), log);
  }
  std::unique_ptr<store::Partitions> store;
  NoConfig config;
  engine::WorkerStats stats;
  engine::Shared shared;
  std::atomic<int> quiet{-1};
  mgmt::Logger log{&quiet, [](std::string_view) {}};
  std::unique_ptr<mgmt::Plane> plane;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t start = 0;
  while (start <= in.size()) {
    std::size_t nl = in.find('\n', start);
    if (nl == std::string_view::npos) nl = in.size();
    const std::string_view line = in.substr(start, nl - start);
    start = nl + 1;
    const mgmt::Reply r = w.plane->handle(line);
    if (r.json.empty()) {
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) std::abort();  // a request got no reply
      continue;
    }
    if (r.json.find('\n') != std::string::npos) std::abort();
    std::string error;
    const auto v = mgmt::parse_json(r.json, &error);
    if (!v || !(*v)["ok"].is_bool()) std::abort();
    w.shared.shutdown_requested.store(false);
  }
  w.plane->tick(1, 1);
  return 0;
}
