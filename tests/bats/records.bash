# Shared by the suites that write histories by hand (load records): one
# client record a line, as mv-exec writes them, without times.

# op PROC F KEY [VALUE]: an invocation line; done_ TYPE PROC F KEY [VALUE]:
# its completion.
op() {
	printf '{"type":"invoke","process":%s,"f":"%s","key":"%s"%s}\n' \
	    "$1" "$2" "$3" "${4:+,\"value\":$4}"
}
done_() {
	printf '{"type":"%s","process":%s,"f":"%s","key":"%s"%s}\n' \
	    "$1" "$2" "$3" "$4" "${5:+,\"value\":$5}"
}
