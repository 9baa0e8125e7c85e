package genesys

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// maxQueueMembers is the most members one POST /routing/queues/{id}/members names.
const maxQueueMembers = 100

// UserQueues implements Client: every queue the user is a member of, joined and unjoined (the
// listing filters on joined, so it is read twice), each marked ViaGroup when the queue's
// member listing says the membership comes from a group.
func (c *SDKClient) UserQueues(ctx context.Context, userID string) ([]QueueMembership, error) {
	if err := needID("get queues", userID); err != nil {
		return nil, err
	}
	out := []QueueMembership{}
	for _, joined := range []bool{true, false} {
		qs, err := c.userQueues(ctx, userID, joined)
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	for i := range out {
		via, err := c.viaGroup(ctx, out[i].QueueID, userID, out[i].Joined)
		if err != nil {
			return nil, err
		}
		out[i].ViaGroup = via
	}
	return out, nil
}

// userQueues reads all pages of the user's queues with the given joined status.
func (c *SDKClient) userQueues(ctx context.Context, userID string, joined bool) ([]QueueMembership, error) {
	op := fmt.Sprintf("get queues of %s (joined=%t)", userID, joined)
	return allPages(ctx, op, func(ctx context.Context, page int) ([]QueueMembership, bool, error) {
		l, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Userqueueentitylisting, *sdkResponse, error) {
			return platformclientv2.NewUsersApiWithConfig(cfg).GetUserQueues(userID, listPageSize, page, joined, nil)
		})
		if err != nil {
			return nil, false, err
		}
		var qs []QueueMembership
		for _, q := range deref(l.Entities) {
			qs = append(qs, QueueMembership{QueueID: deref(q.Id), QueueName: deref(q.Name), Joined: joined})
		}
		return qs, morePages(page, l.PageCount), nil
	})
}

// viaGroup reports whether the queue's member listing (members with the user's joined status)
// names the user as a member by group.
func (c *SDKClient) viaGroup(ctx context.Context, queueID, userID string, joined bool) (bool, error) {
	op := fmt.Sprintf("get members of queue %s (joined=%t)", queueID, joined)
	members, err := allPages(ctx, op, func(ctx context.Context, page int) ([]platformclientv2.Queuemember, bool, error) {
		l, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Queuememberentitylisting, *sdkResponse, error) {
			return platformclientv2.NewRoutingApiWithConfig(cfg).GetRoutingQueueMembers(queueID, page, listPageSize, "", nil, "", nil, nil, nil, nil, nil, "", joined)
		})
		if err != nil {
			return nil, false, err
		}
		return deref(l.Entities), deref(l.NextUri) != "", nil
	})
	if err != nil {
		return false, err
	}
	for _, m := range members {
		if deref(m.Id) == userID || (m.User != nil && deref(m.User.Id) == userID) {
			return deref(m.MemberBy) == "group", nil
		}
	}
	return false, nil
}

// RemoveQueueMembers implements Client (POST /routing/queues/{id}/members?delete=true, at most
// 100 users a call). Removing a user who is not a member succeeds.
func (c *SDKClient) RemoveQueueMembers(ctx context.Context, queueID string, userIDs []string) error {
	return c.queueMembers(ctx, queueID, userIDs, true)
}

// AddQueueMembers implements Client (the same call with delete=false).
func (c *SDKClient) AddQueueMembers(ctx context.Context, queueID string, userIDs []string) error {
	return c.queueMembers(ctx, queueID, userIDs, false)
}

func (c *SDKClient) queueMembers(ctx context.Context, queueID string, userIDs []string, remove bool) error {
	op := fmt.Sprintf("queue %s members (delete=%t)", queueID, remove)
	if err := needID(op, queueID); err != nil {
		return err
	}
	for _, batch := range batches(userIDs, maxQueueMembers) {
		body := make([]platformclientv2.Writableentity, 0, len(batch))
		for _, id := range batch {
			body = append(body, platformclientv2.Writableentity{Id: new(id)})
		}
		_, err := c.do(ctx, op, func(cfg *sdkConfiguration) (*sdkResponse, error) {
			return platformclientv2.NewRoutingApiWithConfig(cfg).PostRoutingQueueMembers(queueID, body, remove)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SetQueuesJoined implements Client: joins (true) or unjoins (false) the user's queues by queue
// ID (PATCH /users/{id}/queues, at most 100 queues a call, in queue ID order).
func (c *SDKClient) SetQueuesJoined(ctx context.Context, userID string, joined map[string]bool) error {
	op := "set queues joined for " + userID
	if err := needID(op, userID); err != nil {
		return err
	}
	ids := make([]string, 0, len(joined))
	for id := range joined {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, batch := range batches(ids, maxQueueMembers) {
		body := make([]platformclientv2.Userqueue, 0, len(batch))
		for _, id := range batch {
			body = append(body, platformclientv2.Userqueue{Id: new(id), Joined: new(joined[id])})
		}
		_, err := c.do(ctx, op, func(cfg *sdkConfiguration) (*sdkResponse, error) {
			return ignoreBody(platformclientv2.NewUsersApiWithConfig(cfg).PatchUserQueues(userID, body, nil))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// UserSkills implements Client: all pages of GET /users/{id}/routingskills.
func (c *SDKClient) UserSkills(ctx context.Context, userID string) ([]Proficiency, error) {
	return proficiencies(ctx, c, "get routing skills of "+userID, userID,
		func(api *platformclientv2.UsersApi, page int) (*platformclientv2.Userskillentitylisting, *sdkResponse, error) {
			return api.GetUserRoutingskills(userID, listPageSize, page, "")
		})
}

// UserLanguages implements Client: all pages of GET /users/{id}/routinglanguages.
func (c *SDKClient) UserLanguages(ctx context.Context, userID string) ([]Proficiency, error) {
	return proficiencies(ctx, c, "get routing languages of "+userID, userID,
		func(api *platformclientv2.UsersApi, page int) (*platformclientv2.Userlanguageentitylisting, *sdkResponse, error) {
			return api.GetUserRoutinglanguages(userID, listPageSize, page, "")
		})
}

// proficiencyListing is what a skills and a languages listing have in common, on the wire.
type proficiencyListing struct {
	Entities  []Proficiency `json:"entities"`
	PageCount *int          `json:"pageCount"`
}

// proficiencies reads every page of a user's skill or language listing, which list fetches.
// The two SDK listings differ only in name, so each page is read through their shared JSON.
func proficiencies[L any](ctx context.Context, c *SDKClient, op, userID string,
	list func(api *platformclientv2.UsersApi, page int) (*L, *sdkResponse, error)) ([]Proficiency, error) {
	ps, err := allPages(ctx, op, func(ctx context.Context, page int) ([]Proficiency, bool, error) {
		l, err := userGet(ctx, c, op, userID, func(api *platformclientv2.UsersApi) (*L, *sdkResponse, error) { return list(api, page) })
		if err != nil {
			return nil, false, err
		}
		var common proficiencyListing
		if err := recode(l, &common); err != nil {
			return nil, false, &Error{Kind: KindInvalid, Op: op, Message: "unreadable listing: " + err.Error()}
		}
		return common.Entities, morePages(page, common.PageCount), nil
	})
	if ps == nil && err == nil {
		ps = []Proficiency{}
	}
	return ps, err
}

// userGet fetches one of the user's settings through a UsersApi method, rejecting an empty ID first.
func userGet[T any](ctx context.Context, c *SDKClient, op, userID string, method func(api *platformclientv2.UsersApi) (*T, *sdkResponse, error)) (*T, error) {
	if err := needID(op, userID); err != nil {
		return nil, err
	}
	return fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*T, *sdkResponse, error) {
		return method(platformclientv2.NewUsersApiWithConfig(cfg))
	})
}

// recode moves a value into another type through its JSON.
func recode(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

// RoutingStatus implements Client (GET /users/{id}/routingstatus), e.g. RoutingOffQueue.
func (c *SDKClient) RoutingStatus(ctx context.Context, userID string) (string, error) {
	rs, err := userGet(ctx, c, "get routing status of "+userID, userID, func(api *platformclientv2.UsersApi) (*platformclientv2.Routingstatus, *sdkResponse, error) {
		return api.GetUserRoutingstatus(userID)
	})
	if err != nil {
		return "", err
	}
	return deref(rs.Status), nil
}

// SetRoutingStatus implements Client (PUT /users/{id}/routingstatus).
func (c *SDKClient) SetRoutingStatus(ctx context.Context, userID, status string) error {
	op := fmt.Sprintf("set routing status of %s to %s", userID, status)
	if err := needID(op, userID); err != nil {
		return err
	}
	if status == "" {
		return &Error{Kind: KindInvalid, Op: op, Message: "empty routing status"}
	}
	_, err := c.do(ctx, op, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return ignoreBody(platformclientv2.NewUsersApiWithConfig(cfg).PutUserRoutingstatus(userID, platformclientv2.Routingstatus{Status: new(status)}))
	})
	return err
}
