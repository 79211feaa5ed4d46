/*
 * anomaly.h — named anomalies ("weirds"): malformed or suspicious input.
 *
 * Malformed traffic is never an error and never an assert: the module that
 * sees it reports one of these names, the sensor counts it (run summary and
 * the `runs` row) and processing goes on where it can.  Names are stable:
 * analysts grep for them.  Add new ones at the end of their group.
 */
#ifndef MDM_ANOMALY_H
#define MDM_ANOMALY_H

#define ANOMALY_LIST(X)                                                                            \
	X(NONE, "none")                                                                            \
	/* link layer */                                                                           \
	X(L2_TRUNCATED, "l2_truncated")                                                            \
	X(VLAN_TOO_DEEP, "vlan_too_deep")                                                          \
	/* IPv4 / IPv6 */                                                                          \
	X(IP_TRUNCATED, "ip_truncated")                                                            \
	X(IP_BAD_VERSION, "ip_bad_version")                                                        \
	X(IPV4_BAD_IHL, "ipv4_bad_ihl")                                                            \
	X(IPV4_BAD_TOTAL_LEN, "ipv4_bad_total_len")                                                \
	X(IPV6_EXT_TRUNCATED, "ipv6_ext_truncated")                                                \
	X(IPV6_EXT_TOO_MANY, "ipv6_ext_too_many")                                                  \
	/* fragments */                                                                            \
	X(FRAG_OVERLAP, "frag_overlap")                                                            \
	X(FRAG_OVERLAP_DIFFERENT, "frag_overlap_different")                                        \
	X(FRAG_TOO_LARGE, "frag_too_large")                                                        \
	X(FRAG_TOO_MANY, "frag_too_many")                                                          \
	X(FRAG_BAD_LENGTH, "frag_bad_length")                                                      \
	X(FRAG_MEMCAP, "frag_memcap")                                                              \
	/* TCP / UDP */                                                                            \
	X(TCP_TRUNCATED, "tcp_truncated")                                                          \
	X(TCP_BAD_OFFSET, "tcp_bad_offset")                                                        \
	X(TCP_BAD_FLAGS, "tcp_bad_flags")                                                          \
	X(UDP_TRUNCATED, "udp_truncated")                                                          \
	/* TCP reassembly */                                                                       \
	X(TCP_OVERLAP_DIFFERENT, "tcp_overlap_different")                                          \
	X(TCP_DATA_AFTER_FIN, "tcp_data_after_fin")                                                \
	X(TCP_SEQ_OUT_OF_WINDOW, "tcp_seq_out_of_window")

enum anomaly {
#define ANOMALY_ENUM(id, name) ANOMALY_##id,
	ANOMALY_LIST(ANOMALY_ENUM)
#undef ANOMALY_ENUM
	    ANOMALY__COUNT
};

/* Stable short name of an anomaly, for the summary and the database. */
static inline const char *anomaly_name(enum anomaly a)
{
	static const char *const names[] = {
#define ANOMALY_NAME(id, name) name,
	    ANOMALY_LIST(ANOMALY_NAME)
#undef ANOMALY_NAME
	};
	return (unsigned)a < ANOMALY__COUNT ? names[a] : "unknown";
}

#endif /* MDM_ANOMALY_H */
