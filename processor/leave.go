package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// member is a static member of a consumer group that works in
// transactions: the stage itself, or one of its delayers.
type member struct {
	kind  string // "stage" or "delayer", in its log messages
	name  string // in its errors
	group string
	log   *slog.Logger
	opts  func() []kgo.Opt
	step  func(context.Context, *kgo.GroupTransactSession) error
}

// runMember runs m's sessions until ctx ends. A fenced producer (its
// transaction timed out while the worker stalled, or another process took
// its instance id) cannot be used again: the session is closed without
// leaving the group and a new one rejoins. Any other error ends the run.
func (s *Stage) runMember(ctx context.Context, m member) error {
	for ctx.Err() == nil {
		sess, err := kgo.NewGroupTransactSession(m.opts()...)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		for err == nil && ctx.Err() == nil {
			err = m.step(ctx, sess)
		}
		switch {
		case errors.Is(err, errFenced):
			m.log.Warn("producer fenced; rejoining with a new session", "err", err)
			sess.Close()
		case err != nil:
			sess.Close()
			return err
		default:
			s.leave(sess, m)
		}
	}
	return nil
}

// leave ends m's last session. A static member does not leave its group
// on close (that is what lets a crashed worker come back to its buckets),
// so a graceful stop that should hand buckets over sends the leave itself.
func (s *Stage) leave(sess *kgo.GroupTransactSession, m member) {
	sess.Close()
	if !s.cfg.LeaveOnShutdown {
		m.log.Info(m.kind + " stopped; buckets stay reserved for this instance until the session times out")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Unknown member: it stopped before it had joined.
	if err := leaveGroup(ctx, s.deps.Kafka, m.group, s.cfg.InstanceID); err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		m.log.Warn("could not leave the group; buckets move when the session times out", "err", err)
		return
	}
	m.log.Info(m.kind + " stopped and left the group")
}

// leaveGroup removes the static member instanceID from group.
func leaveGroup(ctx context.Context, kafka []kgo.Opt, group, instanceID string) error {
	cl, err := kgo.NewClient(slices.Clone(kafka)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	m := kmsg.NewLeaveGroupRequestMember()
	m.InstanceID = &instanceID
	reason := "graceful shutdown"
	m.Reason = &reason
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, mr := range resp.Members {
		if err := kerr.ErrorForCode(mr.ErrorCode); err != nil {
			return fmt.Errorf("leave group %s as %s: %w", group, instanceID, err)
		}
	}
	return nil
}
