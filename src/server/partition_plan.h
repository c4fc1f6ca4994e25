// How the workers map onto store partitions (server.partitions): one partition per NUMA node
// that has pinned workers, or a forced count with the workers dealt round robin.
#pragma once

#include <vector>

namespace ferrite::server {

// The NUMA node of `cpu` from sysfs (0 when the machine does not say: one node).
int numa_node_of(int cpu);

struct PartitionPlan {
  unsigned count = 1;
  std::vector<unsigned> of_worker;  // worker -> partition
  std::vector<int> node;            // partition -> NUMA node (-1: not placed)
};

// `forced` = server.partitions (0: by node); `cpus` are the workers' pinned CPUs, worker i on
// cpus[i % size] (empty: not pinned). `node_of` answers the NUMA node of a CPU (numa_node_of, or
// a fake in tests). Requires forced <= workers.
PartitionPlan plan_partitions(unsigned workers, unsigned forced, const std::vector<int>& cpus,
                              int (*node_of)(int) = &numa_node_of);

}  // namespace ferrite::server
