// EAL start-up, mempools, port set-up and the small parsers the configuration needs.
#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "dpdk_driver.h"

namespace ferrite::dpdk {

std::vector<std::string> split_args(std::string_view args) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const char c = args[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 < args.size()) word.push_back(args[++i]);
      continue;
    }
    if (c == '\'' || c == '"') {
      const std::size_t end = args.find(c, i + 1);
      if (end == std::string_view::npos) throw std::invalid_argument("unterminated quote in \"" + std::string(args) + "\"");
      word.append(args.substr(i + 1, end - i - 1));
      i = end;
      continue;
    }
    word.push_back(c);
  }
  if (in_word) out.push_back(std::move(word));
  return out;
}

void init_eal(std::string_view args) {
  static std::mutex mu;
  static bool done = false;
  const std::lock_guard<std::mutex> lock(mu);
  if (done) return;
  // rte_eal_init keeps pointers into argv: the strings live as long as the process.
  static std::vector<std::string> words;
  words = split_args(args);
  words.insert(words.begin(), "ferrited");
  std::vector<char*> argv;
  argv.reserve(words.size() + 1);
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0) {
    throw std::runtime_error(std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno));
  }
  done = true;
}

rte_mempool* create_pool(const std::string& name, unsigned mbufs, int socket) {
  rte_mempool* p = rte_pktmbuf_pool_create(name.c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (p == nullptr) throw std::runtime_error("DPDK mempool " + name + ": " + rte_strerror(rte_errno));
  return p;
}

void setup_port(std::uint16_t port, std::uint16_t queues, rte_mempool* pool, std::uint16_t rx_desc,
                std::uint16_t tx_desc) {
  setup_port(port, std::vector<rte_mempool*>(queues, pool), rx_desc, tx_desc);
}

void setup_port(std::uint16_t port, const std::vector<rte_mempool*>& pools, std::uint16_t rx_desc,
                std::uint16_t tx_desc) {
  const auto queues = static_cast<std::uint16_t>(pools.size());
  const std::string what = "DPDK port " + std::to_string(port) + ": ";
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0) throw std::runtime_error(what + "no such port");
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    throw std::runtime_error(what + std::to_string(queues) + " queues asked, the port has " +
                             std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)));
  }
  rte_eth_conf conf{};
  if (queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV4_TCP) & info.flow_type_rss_offloads;
  }
  if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  int rc = rte_eth_dev_configure(port, queues, queues, &conf);
  if (rc != 0) throw std::runtime_error(what + "configure: " + rte_strerror(-rc));
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
  if (rc != 0) throw std::runtime_error(what + "descriptors: " + rte_strerror(-rc));
  const int socket = rte_eth_dev_socket_id(port);
  for (std::uint16_t q = 0; q < queues; ++q) {
    rc = rte_eth_rx_queue_setup(port, q, rx_desc, static_cast<unsigned>(socket), nullptr, pools[q]);
    if (rc != 0) throw std::runtime_error(what + "RX queue " + std::to_string(q) + ": " + rte_strerror(-rc));
    rc = rte_eth_tx_queue_setup(port, q, tx_desc, static_cast<unsigned>(socket), nullptr);
    if (rc != 0) throw std::runtime_error(what + "TX queue " + std::to_string(q) + ": " + rte_strerror(-rc));
  }
  rc = rte_eth_dev_start(port);
  if (rc != 0) throw std::runtime_error(what + "start: " + rte_strerror(-rc));
  // Frames for other MACs are not ours; the exception path's kernel interface shares our MAC.
  rte_eth_promiscuous_disable(port);
}

}  // namespace ferrite::dpdk
