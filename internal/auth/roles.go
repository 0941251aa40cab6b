package auth

import "github.com/google/uuid"

// Role is a member's role in a team: owner > admin > member > viewer.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// rank orders the roles; unknown roles rank 0 and so pass no check.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// ParseRole accepts exactly the four role names.
func ParseRole(s string) (Role, bool) {
	r := Role(s)
	return r, r.rank() > 0
}

// AtLeast reports whether r is a valid role ranking at or above min.
func (r Role) AtLeast(min Role) bool {
	return r.rank() > 0 && min.rank() > 0 && r.rank() >= min.rank()
}

// CallerKind says how the caller authenticated.
type CallerKind int

const (
	CallerUser        CallerKind = iota + 1 // a JWT session
	CallerIntegration                       // an sk- key
	CallerDevice                            // a dk- key
)

func (k CallerKind) String() string {
	switch k {
	case CallerUser:
		return "user"
	case CallerIntegration:
		return "integration"
	case CallerDevice:
		return "device"
	}
	return "unknown"
}

// Principal is an authenticated caller acting in one team.
type Principal struct {
	Kind         CallerKind
	UserID       uuid.UUID // uuid.Nil for integration keys
	TeamID       uuid.UUID
	Role         Role      // integration keys act as admin
	CredentialID uuid.UUID // uuid.Nil for JWT callers
}

// Action is something a caller may try to do in its team.
type Action int

const (
	ActListWebhooks      Action = iota + 1 // viewer
	ActListDeliveries                      // viewer
	ActGetWebhook                          // admin: the detail contains the secret
	ActManageWebhooks                      // admin: create, update, delete, rotate, redeliver, test
	ActManageCredentials                   // admin, and only JWT callers
)

// Can is the authorization policy (SPEC §2).
func Can(p Principal, a Action) bool {
	switch a {
	case ActListWebhooks, ActListDeliveries:
		return p.Role.AtLeast(RoleViewer)
	case ActGetWebhook, ActManageWebhooks:
		return p.Role.AtLeast(RoleAdmin)
	case ActManageCredentials:
		// Keys may not mint or revoke keys: a leaked key must not be able
		// to entrench itself.
		return p.Kind == CallerUser && p.Role.AtLeast(RoleAdmin)
	}
	return false
}
