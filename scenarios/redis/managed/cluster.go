package managed

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// startCluster starts the cluster's nodes and forms the cluster with the
// commands redis-cli --cluster create sends, without its fixed sleeps:
// every primary takes its config epoch and slot range, the first node meets
// the others, and once every node knows every other, each replica follows
// its primary.
func (d *Deployment) startCluster(ctx context.Context, bin string) error {
	nP, nR := d.cfg.Primaries, d.cfg.Replicas
	total := nP * (1 + nR)
	nodes := make([]*Server, total)
	err := parallel(total, func(i int) error {
		role, name := RolePrimary, fmt.Sprintf("node-%d", i)
		if i >= nP {
			role = RoleReplica
		}
		dir := filepath.Join(d.dir, name)
		s, err := startProcess(ctx, d.spec(bin, role, name, func(port int) string {
			return d.dataConf(port, dir, 0, true)
		}, true))
		if err != nil {
			return err
		}
		nodes[i] = s
		if role == RolePrimary {
			d.add(&d.primaries, s)
		} else {
			d.add(&d.replicas, s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Keep the primaries and replicas in node order, whatever order they
	// started in.
	d.mu.Lock()
	d.primaries = append([]*Server(nil), nodes[:nP]...)
	d.replicas = append([]*Server(nil), nodes[nP:]...)
	d.mu.Unlock()

	ids := make([]string, total)
	err = parallel(total, func(i int) error {
		c := nodes[i].client()
		defer c.Close()
		id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return fmt.Errorf("managed: node %s: CLUSTER MYID: %w", nodes[i].Addr(), err)
		}
		ids[i] = id
		if i >= nP {
			return nil
		}
		if err := c.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("managed: node %s: CLUSTER SET-CONFIG-EPOCH: %w", nodes[i].Addr(), err)
		}
		lo, hi := i*clusterSlots/nP, (i+1)*clusterSlots/nP-1
		args := []any{"CLUSTER", "ADDSLOTSRANGE", lo, hi}
		if d.version < 7 {
			args = []any{"CLUSTER", "ADDSLOTS"}
			for s := lo; s <= hi; s++ {
				args = append(args, s)
			}
		}
		if err := c.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("managed: node %s: CLUSTER %s %d %d: %w", nodes[i].Addr(), args[1], lo, hi, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Every node meets every other: the handshakes run in parallel instead
	// of waiting for gossip to spread the news from one node.
	err = parallel(total, func(i int) error {
		c := nodes[i].client()
		defer c.Close()
		for _, n := range nodes[i+1:] {
			if err := c.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port(), n.Port()+10000).Err(); err != nil {
				return fmt.Errorf("managed: node %s: CLUSTER MEET %s: %w", nodes[i].Addr(), n.Addr(), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = parallel(total, func(i int) error {
		return poll(ctx, nodes[i], "every cluster node to be known", func(ctx context.Context) (bool, error) {
			c := nodes[i].client()
			defer c.Close()
			out, err := c.ClusterNodes(ctx).Result()
			if err != nil {
				return false, err
			}
			if strings.Contains(out, "handshake") || strings.Contains(out, "noaddr") {
				return false, nil
			}
			for _, id := range ids {
				if !strings.Contains(out, id) {
					return false, nil
				}
			}
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	err = parallel(total-nP, func(j int) error {
		r, primary := nodes[nP+j], ids[j%nP]
		c := r.client()
		defer c.Close()
		if err := c.Do(ctx, "CLUSTER", "REPLICATE", primary).Err(); err != nil {
			return fmt.Errorf("managed: node %s: CLUSTER REPLICATE: %w", r.Addr(), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := d.waitReplicasLinked(ctx); err != nil {
		return err
	}
	// Every node must see the whole cluster, slots and replicas, before a
	// client asks any of them for the topology.
	return parallel(total, func(i int) error {
		return poll(ctx, nodes[i], "cluster_state:ok", func(ctx context.Context) (bool, error) {
			c := nodes[i].client()
			defer c.Close()
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil {
				return false, err
			}
			if infoField(info, "cluster_state") != "ok" || infoField(info, "cluster_slots_assigned") != strconv.Itoa(clusterSlots) {
				return false, nil
			}
			// Every primary serves its slot range. (Replicas, linked already,
			// appear in CLUSTER SLOTS only once their replication offset
			// moves, which on an idle primary takes up to
			// repl-ping-replica-period, 10s; they serve meanwhile.)
			slots, err := c.ClusterSlots(ctx).Result()
			if err != nil {
				return false, err
			}
			return len(slots) == nP, nil
		})
	})
}

// infoField returns the value of field name in an INFO-style reply.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
