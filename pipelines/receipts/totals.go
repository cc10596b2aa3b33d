package receipts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// ReceiptTotal is a running total of accepted receipts in one bucket:
// the totals view's state of it and what it writes.
type ReceiptTotal struct {
	Kind     string  `avro:"kind"`
	Bucket   int32   `avro:"bucket"`
	Day      string  `avro:"day"`
	Client   string  `avro:"client"`
	Type     string  `avro:"type"`
	Category string  `avro:"category"`
	Receipts int64   `avro:"receipts"`
	Lines    int64   `avro:"lines"`
	Quantity float64 `avro:"quantity"`
	Amount   float64 `avro:"amount"`
	Version  int64   `avro:"version"`
}

var receiptTotalSchema = schemas.MustSchema(avsc, "avro/receipt_total.avsc")

// AvroSchema implements schemas.Record.
func (*ReceiptTotal) AvroSchema() *schemas.Schema { return receiptTotalSchema }

// The kinds of total.
const (
	totalByDay         = "day"          // by day, type and category
	totalByClientMonth = "client_month" // by client, month and type
)

// totalsView is the totals view's handler: it adds every accepted
// receipt to the totals of its day, type and line categories and of its
// client, month and type, in its bucket's state, exactly once as every
// stage is; and at the end of a batch writes each total the batch changed
// as an absolute value with a new version. The sink stores those where
// the latest version wins, so a replayed insert changes nothing: the
// rollups analysts read are exact (docs/DESIGN.md, "Receipts").
type totalsView struct {
	codec *schemas.Codec
}

var (
	_ processor.Handler    = (*totalsView)(nil)
	_ processor.BatchEnder = (*totalsView)(nil)
)

// Keys of the view's state: a total, and the totals the batch changed.
const (
	totalPrefix = "t/"
	dirtyPrefix = "d/"
)

// Process implements processor.Handler.
func (v *totalsView) Process(_ context.Context, rec *kgo.Record, st processor.State) ([]*kgo.Record, error) {
	var r Receipt
	if err := v.codec.Decode(rec.Value, &r); err != nil {
		return nil, processor.Permanent(err)
	}
	s, err := saleOf(r.Value, r.ReceivedAt)
	if err != nil {
		return nil, processor.Permanent(err)
	}
	day := s.Issued.Format("2006-01-02")
	// Each total changes once per receipt: the lines are summed by
	// category first, and the client's month counts the receipt once and
	// its amount as the sum of its lines.
	month := ReceiptTotal{Kind: totalByClientMonth, Day: s.Issued.Format("2006-01") + "-01", Client: r.Client, Type: r.Type,
		Receipts: 1}
	var byDay []ReceiptTotal // one per category, in the order the lines name them
	for _, l := range s.Lines {
		month.Lines++
		month.Amount += l.Amount
		i := slices.IndexFunc(byDay, func(t ReceiptTotal) bool { return t.Category == l.Category })
		if i < 0 {
			byDay = append(byDay, ReceiptTotal{Kind: totalByDay, Day: day, Type: r.Type, Category: l.Category})
			i = len(byDay) - 1
		}
		byDay[i].Lines++
		byDay[i].Quantity += l.Quantity
		byDay[i].Amount += l.Amount
	}
	for _, d := range append(byDay, month) {
		if err := v.add(st, rec.Partition, d); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// EndBatch implements processor.BatchEnder: every total the batch
// changed, with a new version.
func (v *totalsView) EndBatch(_ context.Context, _ int32, st processor.State) ([]*kgo.Record, error) {
	var out []*kgo.Record
	err := processor.Drain(st, dirtyPrefix, func(key string, _ []byte) error {
		t, err := v.get(st, key)
		if err != nil {
			return err
		}
		t.Version++
		b, err := v.codec.Encode(&t)
		if err != nil {
			return err
		}
		st.Put(totalPrefix+key, b)
		out = append(out, &kgo.Record{Topic: TopicTotals, Key: []byte(strconv.Itoa(int(t.Bucket)) + "/" + key), Value: b})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// add adds d's counts to the total of d's kind and dimensions in bucket
// b, and marks it changed.
func (v *totalsView) add(st processor.State, b int32, d ReceiptTotal) error {
	key := totalKey(d)
	cur, err := v.get(st, key)
	if err != nil {
		return err
	}
	if cur.Kind == "" {
		cur = ReceiptTotal{Kind: d.Kind, Bucket: b, Day: d.Day, Client: d.Client, Type: d.Type, Category: d.Category}
	}
	cur.Receipts += d.Receipts
	cur.Lines += d.Lines
	cur.Quantity += d.Quantity
	cur.Amount += d.Amount
	enc, err := v.codec.Encode(&cur)
	if err != nil {
		return err
	}
	st.Put(totalPrefix+key, enc)
	st.Put(dirtyPrefix+key, nil)
	return nil
}

func (v *totalsView) get(st processor.State, key string) (ReceiptTotal, error) {
	var t ReceiptTotal
	if b, ok := st.Get(totalPrefix + key); ok {
		if err := v.codec.Decode(b, &t); err != nil {
			return t, fmt.Errorf("total %s: %w", key, err)
		}
	}
	return t, nil
}

// totalKey names a total by its kind and dimensions.
func totalKey(t ReceiptTotal) string {
	return strings.Join([]string{t.Kind, t.Day, t.Client, t.Type, t.Category}, "\x1f")
}
