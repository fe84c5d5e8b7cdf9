package lease

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestApply(t *testing.T) {
	now := time.Unix(1e9, 0)
	a := netip.MustParseAddr("10.0.0.5")
	me, other := hw.MAC{2, 0, 0, 0, 0, 1}, hw.MAC{2, 0, 0, 0, 0, 2}
	later, past := now.Add(time.Hour), now.Add(-time.Second)
	held := func(mac hw.MAC, st State, exp time.Time) *Lease {
		return &Lease{Addr: a, MAC: mac, State: st, Expiry: exp}
	}
	op := func(k Kind) Op { return Op{Kind: k, Addr: a, MAC: me, Expiry: later} }
	takeover := op(Offer)
	takeover.Takeover = true
	type want struct {
		Next      *Lease
		Write, OK bool
	}
	tests := map[string]struct {
		op   Op
		cur  *Lease
		want want
	}{
		"offer free":                    {op(Offer), nil, want{held(me, Offered, later), true, true}},
		"offer over expired":            {op(Offer), held(other, Bound, past), want{held(me, Offered, later), true, true}},
		"offer again":                   {op(Offer), held(me, Offered, now.Add(time.Second)), want{held(me, Offered, later), true, true}},
		"offer own bound":               {op(Offer), held(me, Bound, later), want{held(me, Bound, later), false, true}},
		"offer other's offer":           {op(Offer), held(other, Offered, later), want{held(other, Offered, later), false, false}},
		"offer takes other's offer":     {takeover, held(other, Offered, later), want{held(me, Offered, later), true, true}},
		"takeover never takes a lease":  {takeover, held(other, Bound, later), want{held(other, Bound, later), false, false}},
		"offer other's lease":           {op(Offer), held(other, Bound, later), want{held(other, Bound, later), false, false}},
		"offer declined":                {op(Offer), held(me, Declined, later), want{held(me, Declined, later), false, false}},
		"bind free":                     {op(Bind), nil, want{held(me, Bound, later), true, true}},
		"bind own offer":                {op(Bind), held(me, Offered, later), want{held(me, Bound, later), true, true}},
		"bind renews":                   {op(Bind), held(me, Bound, now.Add(time.Minute)), want{held(me, Bound, later), true, true}},
		"bind other's offer":            {op(Bind), held(other, Offered, later), want{held(other, Offered, later), false, false}},
		"bind other's lease":            {op(Bind), held(other, Bound, later), want{held(other, Bound, later), false, false}},
		"bind own declined":             {op(Bind), held(me, Declined, later), want{held(me, Declined, later), false, false}},
		"bind over expired":             {op(Bind), held(other, Declined, past), want{held(me, Bound, later), true, true}},
		"decline own lease":             {op(Decline), held(me, Bound, later), want{held(me, Declined, later), true, true}},
		"decline other's lease: no-op":  {op(Decline), held(other, Bound, later), want{held(other, Bound, later), false, true}},
		"release own lease":             {op(Release), held(me, Bound, later), want{nil, true, true}},
		"release own offer":             {op(Release), held(me, Offered, later), want{nil, true, true}},
		"release other's lease: no-op":  {op(Release), held(other, Bound, later), want{held(other, Bound, later), false, true}},
		"release declined: kept":        {op(Release), held(me, Declined, later), want{held(me, Declined, later), false, true}},
		"release nothing":               {op(Release), nil, want{nil, false, true}},
		"cancel own offer":              {op(Cancel), held(me, Offered, later), want{nil, true, true}},
		"cancel keeps own lease":        {op(Cancel), held(me, Bound, later), want{held(me, Bound, later), false, true}},
		"cancel other's offer: no-op":   {op(Cancel), held(other, Offered, later), want{held(other, Offered, later), false, true}},
		"cancel expired offer: nothing": {op(Cancel), held(me, Offered, past), want{held(me, Offered, past), false, true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			next, write, ok := tc.op.Apply(tc.cur, now)
			if diff := cmp.Diff(tc.want, want{next, write, ok}, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("Apply (-want +got):\n%s", diff)
			}
		})
	}
}
