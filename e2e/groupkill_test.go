package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/syncbuf"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupMemberEnv makes the test binary a consumer group member
// (runGroupMember): "BROKER GROUP TOPIC".
const groupMemberEnv = "RATION_E2E_GROUP_MEMBER"

// The members' timeouts: short, so that a dead member's barrier ends soon,
// and long enough for two members to join while it lasts.
const (
	memberSession   = 6 * time.Second
	memberRebalance = 10 * time.Second
)

// runGroupMember joins the group and consumes until it is killed.
func runGroupMember(spec string) int {
	f := strings.Fields(spec)
	cl, err := kgo.NewClient(kgo.SeedBrokers(f[0]), kgo.ConsumerGroup(f[1]), kgo.ConsumeTopics(f[2]),
		kgo.SessionTimeout(memberSession), kgo.RebalanceTimeout(memberRebalance),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil))) // the test reads its joins
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		cl.PollFetches(context.Background())
	}
}

// TestGroupMemberKilledWhileJoiningLeavesTheGroup: a member killed while
// it waits in a rebalance (its JoinGroup pending, the group waiting for
// another dead member's session to end) leaves the group once its own
// session ends, and the member started after it gets every partition.
// kfake used to keep it for good when the new member led the group: its
// answer went to a dead connection, and its session was never started
// again. Which member leads is the broker's pick, so four groups go
// through it at once.
func TestGroupMemberKilledWhileJoiningLeavesTheGroup(t *testing.T) {
	b := startBroker(t)
	// The groups run after this function returns: cleanups, not defers.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cl, err := kgo.NewClient(b.clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	gt := groupTest{kafka: b.kafka, adm: kadm.NewClient(cl), topic: "members", parts: 6}
	if _, err := gt.adm.CreateTopic(ctx, int32(gt.parts), 1, nil, gt.topic); err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		t.Run(fmt.Sprintf("group-%d", round), func(t *testing.T) {
			t.Parallel()
			group := t.Name()
			first := gt.start(t, group, new(syncbuf.Buffer))
			gt.await(ctx, t, group, "the first member owning every partition", 30*time.Second, gt.alone)
			kill(t, first)
			// The second and third wait in the barrier for the first's
			// session to end, each once it has its member id (KIP-394: a
			// first JoinGroup is answered with one, and the member joins
			// again with it); the second is killed there.
			joined := func(log *syncbuf.Buffer, members int) func(kadm.DescribedGroup) bool {
				return func(g kadm.DescribedGroup) bool {
					return strings.Contains(log.String(), "rejoining with response's MemberID") &&
						g.State == "PreparingRebalance" && len(g.Members) == members
				}
			}
			var log2, log3 syncbuf.Buffer
			second := gt.start(t, group, &log2)
			gt.await(ctx, t, group, "the second member in the barrier", memberSession, joined(&log2, 2))
			kill(t, second)
			gt.start(t, group, &log3)
			gt.await(ctx, t, group, "the third member in the barrier", memberSession, joined(&log3, 3))
			gt.await(ctx, t, group, "the third member alone, owning every partition",
				2*memberSession+2*memberRebalance+10*time.Second, gt.alone)
		})
	}
}

// groupTest runs group member processes on one topic of a broker.
type groupTest struct {
	kafka string
	adm   *kadm.Client
	topic string
	parts int
}

// start runs a member of group, its log to log.
func (gt groupTest) start(t *testing.T, group string, log *syncbuf.Buffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), groupMemberEnv+"="+gt.kafka+" "+group+" "+gt.topic)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// alone: the group is stable with one member, which owns every partition.
func (gt groupTest) alone(g kadm.DescribedGroup) bool {
	if g.State != "Stable" || len(g.Members) != 1 {
		return false
	}
	a, _ := g.Members[0].Assigned.AsConsumer()
	n := 0
	if a != nil {
		for _, tp := range a.Topics {
			n += len(tp.Partitions)
		}
	}
	return n == gt.parts
}

// await polls the group's description (the broker announces nothing)
// until ok holds, failing after within.
func (gt groupTest) await(ctx context.Context, t *testing.T, group, what string, within time.Duration, ok func(kadm.DescribedGroup) bool) {
	t.Helper()
	var last kadm.DescribedGroup
	for deadline := time.Now().Add(within); ; {
		gs, err := gt.adm.DescribeGroups(ctx, group)
		if err == nil {
			if last = gs[group]; ok(last) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not within %v: state %s, %d members, %v", what, within, last.State, len(last.Members), err)
		}
		time.Sleep(50 * time.Millisecond) // polling the broker; see above
	}
}

// kill kills cmd with SIGKILL and reaps it.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}
