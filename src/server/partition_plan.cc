#include "server/partition_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace ferrite::server {

int numa_node_of(int cpu) {
  for (int node = 0; node < 64; ++node) {
    char path[96];
    std::snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/node%d", cpu, node);
    if (access(path, F_OK) == 0) return node;
  }
  return 0;
}

PartitionPlan plan_partitions(unsigned workers, unsigned forced, const std::vector<int>& cpus, int (*node_of)(int)) {
  PartitionPlan plan;
  plan.of_worker.assign(workers, 0);
  auto cpu_of = [&](unsigned w) { return cpus.empty() ? -1 : cpus[w % cpus.size()]; };
  if (forced == 0) {
    // One partition per node, in the order the workers name them. Unpinned workers have no node.
    if (cpus.empty()) {
      plan.node.push_back(-1);
      return plan;
    }
    for (unsigned w = 0; w < workers; ++w) {
      const int n = node_of(cpu_of(w));
      auto it = std::find(plan.node.begin(), plan.node.end(), n);
      if (it == plan.node.end()) {
        plan.node.push_back(n);
        it = plan.node.end() - 1;
      }
      plan.of_worker[w] = static_cast<unsigned>(it - plan.node.begin());
    }
    plan.count = static_cast<unsigned>(std::max<std::size_t>(1, plan.node.size()));
    if (plan.node.empty()) plan.node.push_back(-1);
    return plan;
  }
  plan.count = forced;
  plan.node.assign(forced, -1);
  for (unsigned w = 0; w < workers; ++w) {
    plan.of_worker[w] = w % forced;
    // A forced partition lives on the node of its first worker (when pinned).
    if (w < forced && !cpus.empty()) plan.node[w] = node_of(cpu_of(w));
  }
  return plan;
}

}  // namespace ferrite::server
