package broker

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// librdkafka (kcat, confluent-kafka-*) refuses SASL with "SASL Handshake
// not supported by broker" unless the broker advertises SaslHandshake
// version 0 within its range; kfake serves only v1 and advertises 1..1.
// librdkafka then speaks v1 anyway. So the broker answers ApiVersions
// itself: kfake's own answer, read once at start-up, with SaslHandshake's
// minimum lowered to 0. A client that really sends v0 is refused by kfake
// as before.
//
// Only versions 0..4 are answered here; v5+ (which checks the cluster and
// node a client expects) and malformed v3+ requests go on to kfake.
const maxOwnApiVersions = 4

// advertiseSASLHandshakeV0 installs the ApiVersions answer on cluster.
// base reaches the cluster (with the admin's credentials when SASL is on).
func advertiseSASLHandshakeV0(ctx context.Context, cluster *kfake.Cluster, base []kgo.Opt) error {
	cl, err := kgo.NewClient(append(slices.Clone(base), kgo.ClientID("ration-broker-apiversions"))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = maxOwnApiVersions
	req.ClientSoftwareName = "ration"
	req.ClientSoftwareVersion = "1"
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("read api versions: %w", err)
	}
	if resp.ErrorCode != 0 {
		return fmt.Errorf("read api versions: error code %d", resp.ErrorCode)
	}
	keys := slices.Clone(resp.ApiKeys)
	for i := range keys {
		if keys[i].ApiKey == int16(kmsg.SASLHandshake) {
			keys[i].MinVersion = 0
		}
	}
	cluster.ControlKey(int16(kmsg.ApiVersions), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		r := kr.(*kmsg.ApiVersionsRequest)
		if r.Version > maxOwnApiVersions || r.Version >= 3 &&
			(!validSoftwareName(r.ClientSoftwareName) || !validSoftwareName(r.ClientSoftwareVersion)) {
			return nil, nil, false
		}
		out := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		out.ApiKeys = slices.Clone(keys)
		out.SupportedFeatures = resp.SupportedFeatures
		out.FinalizedFeatures = resp.FinalizedFeatures
		out.FinalizedFeaturesEpoch = resp.FinalizedFeaturesEpoch
		return out, nil, true
	})
	return nil
}

// validSoftwareName is Kafka's check of a v3+ client's software name and
// version: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
func validSoftwareName(s string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if s == "" || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
