package points

// The people routes: users, logins, a user and their history.

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/schemas"
)

func (rs *routes) createUser(w http.ResponseWriter, r *http.Request) error {
	var in ration.PointsNewUser
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := text("name", in.Name, 100); err != nil {
		return err
	}
	if len(in.Password) < 8 || len(in.Password) > 72 {
		return api.Errorf(http.StatusUnprocessableEntity, "password must be 8 to 72 bytes")
	}
	prefix, ok := Regions[in.Region]
	if !ok {
		return api.Errorf(http.StatusUnprocessableEntity, "region must be R1, R2 or R3, not %q", api.Clip(in.Region, 20))
	}
	if in.Staff && api.Caller(r).Scope != schemas.ScopeAdmin {
		return api.Errorf(http.StatusForbidden, "only an admin creates staff")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u := User{UserID: newID(prefix, 6), Name: in.Name, Region: in.Region, Staff: in.Staff, PasswordHash: string(hash),
		CreatedAt: rs.now().UTC().Truncate(time.Millisecond)}
	for _, taken := rs.users.Get(u.UserID); taken; _, taken = rs.users.Get(u.UserID) {
		u.UserID = newID(prefix, 6)
	}
	if err := rs.produce(r.Context(), TopicUsers, u.UserID, &u); err != nil {
		return err
	}
	rs.users.Put(u.UserID, u)
	rs.log.Info("user created", "user", u.UserID, "region", u.Region, "staff", u.Staff, "by", api.Caller(r).Name)
	api.WriteJSON(w, http.StatusCreated, map[string]string{"user_id": u.UserID})
	return nil
}

func (rs *routes) login(w http.ResponseWriter, r *http.Request) error {
	var in ration.PointsLogin
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, ok := rs.user(r.Context(), in.UserID)
	if !ok || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) != nil {
		rs.log.Warn("login refused", "user", api.Clip(in.UserID, 20))
		return api.Errorf(http.StatusUnauthorized, "wrong user id or password")
	}
	token, exp := rs.tokens.Issue(u.UserID)
	api.WriteJSON(w, http.StatusOK, ration.PointsSession{Token: token, ExpiresAt: ration.Timestamp{Time: exp.UTC()},
		UserID: u.UserID, Name: u.Name, Staff: u.Staff})
	return nil
}

// mayRead says whether the caller of r may read what belongs to user id:
// the user, or an API client.
func mayRead(r *http.Request, id string) bool {
	u, isUser := userOf(api.Caller(r))
	return !isUser || u == id
}

// me answers the caller's own user and groups: who a token is.
func (rs *routes) me(w http.ResponseWriter, r *http.Request) error {
	id, err := caller(r)
	if err != nil {
		return err
	}
	return rs.answerUser(w, r, id)
}

func (rs *routes) getUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !mayRead(r, id) {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	return rs.answerUser(w, r, id)
}

// answerUser answers user id and their groups.
func (rs *routes) answerUser(w http.ResponseWriter, r *http.Request, id string) error {
	u, ok := rs.user(r.Context(), id)
	if !ok {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	out := ration.PointsUser{UserID: u.UserID, Name: u.Name, Region: u.Region, Staff: u.Staff,
		CreatedAt: ration.Timestamp{Time: u.CreatedAt}, Groups: []ration.PointsGroup{}}
	if rs.reader == nil {
		return api.Unavailable("groups cannot be read here (no ClickHouse)", nil)
	}
	ids, err := rs.reader.UserGroups(r.Context(), id)
	if err == nil {
		out.Groups, err = rs.reader.Groups(r.Context(), ids)
	}
	if err != nil {
		return api.Unavailable("groups cannot be read now (ClickHouse)", err)
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (rs *routes) userHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !mayRead(r, id) {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	u, ok := rs.user(r.Context(), id)
	if !ok {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	return rs.history(w, r, func(ctx context.Context, cursor string, limit int) (ration.PointsHistory, error) {
		return rs.reader.UserHistory(ctx, id, u.CreatedAt, cursor, limit)
	})
}
