package points

// The reads of groups and the catalogue, and the catalogue's changes.

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
)

// group returns group id if the caller of r may read it: a member, or an
// API client.
func (rs *routes) group(r *http.Request, id string) (ration.PointsGroup, error) {
	if rs.reader == nil {
		return ration.PointsGroup{}, api.Unavailable("groups cannot be read here (no ClickHouse)", nil)
	}
	g, err := rs.reader.Group(r.Context(), id)
	notFound := api.Errorf(http.StatusNotFound, "no group %q", api.Clip(id, 40))
	switch {
	case errors.Is(err, ErrNotFound):
		return g, notFound
	case err != nil:
		return g, api.Unavailable("groups cannot be read now (ClickHouse)", err)
	}
	if u, isUser := userOf(api.Caller(r)); isUser && !(&Group{Members: g.Members}).member(u) {
		return g, notFound
	}
	return g, nil
}

func (rs *routes) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := rs.group(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, g)
	return nil
}

func (rs *routes) groupHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	g, err := rs.group(r, id)
	if err != nil {
		return err
	}
	return rs.history(w, r, func(ctx context.Context, cursor string, limit int) (ration.PointsHistory, error) {
		return rs.reader.GroupHistory(ctx, id, g.Seq, cursor, limit)
	})
}

func (rs *routes) listCatalogue(w http.ResponseWriter, _ *http.Request) error {
	items := rs.catalogue.Values()
	out := make([]ration.PointsItem, len(items))
	for i, it := range items {
		out[i] = itemView(it)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func itemView(it Item) ration.PointsItem {
	v := ration.PointsItem{ItemID: it.ItemID, Name: it.Name, Price: units(it.Price), Points: it.Points}
	if it.Discount.Percent > 0 {
		d := ration.PointsDiscount(it.Discount)
		v.Discount = &d
	}
	return v
}

func (rs *routes) putItem(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("item_id")
	if !auth.ValidName(id) {
		return api.Errorf(http.StatusUnprocessableEntity, "an item id is a letter or digit, then up to 63 letters, digits, '.', '_' or '-'")
	}
	var in ration.PointsItem
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := text("name", in.Name, 100); err != nil {
		return err
	}
	cents := math.Round(in.Price * 100)
	if in.Price < 0 || cents > maxPrice || math.Abs(in.Price*100-cents) > 1e-6 {
		return api.Errorf(http.StatusUnprocessableEntity, "price must be 0 to %d, to the cent", maxPrice/100)
	}
	if in.Points < 0 || in.Points > maxPoints {
		return api.Errorf(http.StatusUnprocessableEntity, "points must be 0 to %d", maxPoints)
	}
	it := Item{ItemID: id, Name: in.Name, Price: int64(cents), Points: in.Points, UpdatedAt: rs.now().UTC().Truncate(time.Millisecond)}
	if d := in.Discount; d != nil {
		if d.Percent < 0 || d.Percent > 100 || d.MinMembers < 0 || d.MinBalance < 0 {
			return api.Errorf(http.StatusUnprocessableEntity, "a discount's percent is 0 to 100, its minimums at least 0")
		}
		it.Discount = Discount(*d)
	}
	if err := rs.produce(r.Context(), TopicCatalogue, id, &it); err != nil {
		return err
	}
	rs.catalogue.Put(id, it)
	rs.log.Info("catalogue item put", "item", id, "by", api.Caller(r).Name)
	api.WriteJSON(w, http.StatusOK, itemView(it))
	return nil
}
