package processor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// close ends the session. A static member does not leave its group on
// close (that is what lets a crashed worker come back to its buckets), so
// a graceful stop that should hand buckets over sends the leave itself.
func (s *Stage) close(sess *kgo.GroupTransactSession) {
	sess.Close()
	if !s.cfg.LeaveOnShutdown {
		s.log.Info("stage stopped; buckets stay reserved for this instance until the session times out")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := leaveGroup(ctx, s.deps.Kafka, s.cfg.Group, s.cfg.InstanceID); err != nil {
		s.log.Warn("could not leave the group; buckets move when the session times out", "err", err)
		return
	}
	s.log.Info("stage stopped and left the group")
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
