package receipttype

import (
	"encoding/json"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

// The CEL environment of rules:
//
//   - receipt: the receipt, as JSON gives it; every number is a double.
//   - now: the time of validation, a timestamp.
//   - sum(list) double: the sum of a list of numbers, e.g.
//     sum(receipt.lines.map(l, l.amount)).
//   - luhn(string) bool: whether a string of digits passes the Luhn check.
//   - cel-go's math (math.abs, math.round, ...), strings and lists
//     extensions.
//
// A rule must evaluate to a bool; it holds when true.
var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("receipt", cel.DynType),
		cel.Variable("now", cel.TimestampType),
		cel.Function("sum",
			cel.Overload("sum_list", []*cel.Type{cel.ListType(cel.DynType)}, cel.DoubleType,
				cel.UnaryBinding(sum))),
		cel.Function("luhn",
			cel.Overload("luhn_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return types.Bool(luhn(string(v.(types.String)))) }))),
		ext.Math(), ext.Strings(), ext.Lists(),
	)
	if err != nil {
		panic(err) // a fixed environment
	}
	return e
}()

// costLimit bounds one rule's evaluation, so that no rule can hold up
// the API: far above what a rule over a receipt of a few thousand lines
// costs.
const costLimit = 10_000_000

func compileRule(name, expr string) (cel.Program, error) {
	if len(expr) > MaxRuleBytes {
		return nil, fmt.Errorf("a rule is at most %d bytes", MaxRuleBytes)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if !ast.OutputType().IsEquivalentType(cel.BoolType) && !ast.OutputType().IsEquivalentType(cel.DynType) {
		return nil, fmt.Errorf("a rule must be a bool, not %s", ast.OutputType())
	}
	return env.Program(ast, cel.CostLimit(costLimit))
}

// check evaluates the rule on receipt and returns why it does not hold,
// or "" when it holds.
func (r rule) check(vars map[string]any) string {
	out, _, err := r.prg.Eval(vars)
	if err != nil {
		return fmt.Sprintf("rule %s: %v", r.name, err)
	}
	if b, ok := out.(types.Bool); !ok || !bool(b) {
		if !ok {
			return fmt.Sprintf("rule %s: gave %v, not a bool", r.name, out)
		}
		return fmt.Sprintf("rule %s does not hold", r.name)
	}
	return ""
}

// celValue turns JSON numbers into doubles for CEL, which does no mixed
// arithmetic; the rest of JSON maps onto CEL as it is.
func celValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = celValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = celValue(x)
		}
		return out
	}
	return v
}

func sum(v ref.Val) ref.Val {
	l, ok := v.(traits.Lister)
	if !ok {
		return types.NewErr("sum of a %s", v.Type())
	}
	total := 0.0
	for it := l.Iterator(); it.HasNext() == types.True; {
		switch x := it.Next().(type) {
		case types.Double:
			total += float64(x)
		case types.Int:
			total += float64(x)
		default:
			return types.NewErr("sum of a list holding a %s", x.Type())
		}
	}
	return types.Double(total)
}

// luhn reports whether s, all digits, passes the Luhn check.
func luhn(s string) bool {
	if s == "" {
		return false
	}
	total := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		total += d
		double = !double
	}
	return total%10 == 0
}
