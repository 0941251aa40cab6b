package auth

import (
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

var allRoles = []Role{RoleViewer, RoleMember, RoleAdmin, RoleOwner} // ascending
var allActions = []Action{ActListWebhooks, ActListDeliveries, ActGetWebhook, ActManageWebhooks, ActManageCredentials}
var allKinds = []CallerKind{CallerUser, CallerIntegration, CallerDevice}

func TestParseRole(t *testing.T) {
	for _, r := range allRoles {
		got, ok := ParseRole(string(r))
		if !ok || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, ok)
		}
	}
	for _, s := range []string{"", "Owner", "ADMIN", "superuser", " admin", "admin "} {
		if _, ok := ParseRole(s); ok {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
}

func TestAtLeastFollowsTheRoleOrder(t *testing.T) {
	for i, r := range allRoles {
		for j, min := range allRoles {
			if got, want := r.AtLeast(min), i >= j; got != want {
				t.Errorf("%s.AtLeast(%s) = %v, want %v", r, min, got, want)
			}
		}
		if r.AtLeast("bogus") || Role("bogus").AtLeast(r) {
			t.Errorf("an unknown role compared with %s passed", r)
		}
	}
}

// The policy table of SPEC §2, written out for every caller kind.
func TestCanTable(t *testing.T) {
	type row struct {
		kind CallerKind
		role Role
		act  Action
		want bool
	}
	var rows []row
	for _, k := range allKinds {
		for _, r := range allRoles {
			admin := r == RoleAdmin || r == RoleOwner
			rows = append(rows,
				row{k, r, ActListWebhooks, true},
				row{k, r, ActListDeliveries, true},
				row{k, r, ActGetWebhook, admin},
				row{k, r, ActManageWebhooks, admin},
				row{k, r, ActManageCredentials, admin && k == CallerUser},
			)
		}
	}
	for _, rw := range rows {
		p := Principal{Kind: rw.kind, Role: rw.role, TeamID: uuid.New()}
		if got := Can(p, rw.act); got != rw.want {
			t.Errorf("Can(%s %s, action %d) = %v, want %v", rw.kind, rw.role, rw.act, got, rw.want)
		}
	}
}

func TestCanRefusesUnknownRolesAndActions(t *testing.T) {
	for _, a := range allActions {
		if Can(Principal{Kind: CallerUser, Role: ""}, a) || Can(Principal{Kind: CallerUser, Role: "root"}, a) {
			t.Errorf("action %d allowed for an unknown role", a)
		}
	}
	for _, a := range []Action{0, -1, 99} {
		if Can(Principal{Kind: CallerUser, Role: RoleOwner}, a) {
			t.Errorf("unknown action %d allowed", a)
		}
	}
}

func TestCanProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		kind := rapid.SampledFrom(allKinds).Draw(t, "kind")
		lo := rapid.IntRange(0, len(allRoles)-1).Draw(t, "lo")
		hi := rapid.IntRange(lo, len(allRoles)-1).Draw(t, "hi")
		act := rapid.SampledFrom(allActions).Draw(t, "action")
		low := Principal{Kind: kind, Role: allRoles[lo]}
		high := Principal{Kind: kind, Role: allRoles[hi]}
		// Monotone: a higher role can do everything a lower one can.
		if Can(low, act) && !Can(high, act) {
			t.Fatalf("%s may %d but %s may not", low.Role, act, high.Role)
		}
		// Keys never manage credentials, whatever their role.
		if kind != CallerUser && Can(high, ActManageCredentials) {
			t.Fatalf("%s caller with role %s may manage credentials", kind, high.Role)
		}
		// Every valid role may read lists.
		if !Can(low, ActListWebhooks) || !Can(low, ActListDeliveries) {
			t.Fatalf("%s may not list", low.Role)
		}
	})
}
