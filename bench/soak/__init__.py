"""`make soak`: load, faults and hostile input against real `policybot serve` processes on loopback, printed
as one table (see __main__). The harness is `bench.soak.servers`."""
