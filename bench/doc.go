// Package bench measures ration's pipelines against a ceiling taken on the
// same broker, the same partitions and the same records in the same run,
// so results are ratios that hold from one machine to another.
package bench
