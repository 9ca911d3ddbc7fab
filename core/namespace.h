/* core/namespace.h — internal functions get the troupei_ prefix at link
 * level. The code keeps short names (mb_push_mpsc, sched_actor, ...); these
 * macros make the symbols troupei_mb_push_mpsc, troupei_sched_actor, ... so
 * that linking the static libtroupe.a can never clash with an
 * application's own send_msg or mono_ns. The shared library hides them
 * anyway (-fvisibility=hidden). Included first by core/common.h; keep the
 * list complete: `nm -g --defined-only libtroupe.a | grep -v troupe`
 * must print nothing. */
#ifndef TROUPE_CORE_NAMESPACE_H
#define TROUPE_CORE_NAMESPACE_H

#define actor_alloc_state troupei_actor_alloc_state
#define actor_drop_msg troupei_actor_drop_msg
#define actor_end troupei_actor_end
#define actor_finish troupei_actor_finish
#define actor_free_state troupei_actor_free_state
#define actor_release troupei_actor_release
#define actor_run_init troupei_actor_run_init
#define actor_stop_cb troupei_actor_stop_cb
#define alloc_arena_available troupei_alloc_arena_available
#define alloc_inject_fail troupei_alloc_inject_fail
#define asks_create troupei_asks_create
#define asks_destroy troupei_asks_destroy
#define clock_is_manual troupei_clock_is_manual
#define clock_register troupei_clock_register
#define clock_unregister troupei_clock_unregister
#define dead_letter_spawn troupei_dead_letter_spawn
#define ext_free troupei_ext_free
#define ext_get troupei_ext_get
#define ext_live_locked troupei_ext_live_locked
#define ext_on_finish troupei_ext_on_finish
#define futex_wait_u32 troupei_futex_wait_u32
#define futex_wake_u32 troupei_futex_wake_u32
#define lane_close troupei_lane_close
#define lane_nonempty troupei_lane_nonempty
#define lane_push_mpsc troupei_lane_push_mpsc
#define lane_reset troupei_lane_reset
#define lane_take troupei_lane_take
#define mb_accepted troupei_mb_accepted
#define mb_close troupei_mb_close
#define mb_depth troupei_mb_depth
#define mb_fill_holes troupei_mb_fill_holes
#define mb_front troupei_mb_front
#define mb_kick_mpsc troupei_mb_kick_mpsc
#define mb_open troupei_mb_open
#define mb_pop troupei_mb_pop
#define mb_push_mpsc troupei_mb_push_mpsc
#define mb_reserve_mpsc troupei_mb_reserve_mpsc
#define mb_steal_oldest_mpmc troupei_mb_steal_oldest_mpmc
#define mb_try_idle troupei_mb_try_idle
#define mb_try_unidle troupei_mb_try_unidle
#define mb_unreserve troupei_mb_unreserve
#define mb_write troupei_mb_write
#define mono_ns troupei_mono_ns
#define mute_take_suspended troupei_mute_take_suspended
#define note_muted troupei_note_muted
#define park_drop troupei_park_drop
#define park_flush troupei_park_flush
#define park_move_in troupei_park_move_in
#define park_msg troupei_park_msg
#define registry_create troupei_registry_create
#define registry_destroy troupei_registry_destroy
#define registry_forget troupei_registry_forget
#define run_actor troupei_run_actor
#define runq_init troupei_runq_init
#define runq_pop_mc troupei_runq_pop_mc
#define runq_push_owner troupei_runq_push_owner
#define sched_actor troupei_sched_actor
#define sched_actor_spread troupei_sched_actor_spread
#define sched_inject troupei_sched_inject
#define sched_notify troupei_sched_notify
#define sched_requeue troupei_sched_requeue
#define sched_start troupei_sched_start
#define sched_stop troupei_sched_stop
#define send_flush troupei_send_flush
#define send_msg troupei_send_msg
#define send_sys troupei_send_sys
#define spawn_held troupei_spawn_held
#define sv_check_policy troupei_sv_check_policy
#define sv_child_by_ref troupei_sv_child_by_ref
#define sv_child_end troupei_sv_child_end
#define sv_child_exited troupei_sv_child_exited
#define sv_child_stopped troupei_sv_child_stopped
#define sv_create troupei_sv_create
#define sv_destroy troupei_sv_destroy
#define sv_hold troupei_sv_hold
#define sv_kick troupei_sv_kick
#define sv_next_delay troupei_sv_next_delay
#define sv_node_exited troupei_sv_node_exited
#define sv_node_free troupei_sv_node_free
#define sv_node_get troupei_sv_node_get
#define sv_node_new troupei_sv_node_new
#define sv_now troupei_sv_now
#define sv_on_deadline troupei_sv_on_deadline
#define sv_on_exit troupei_sv_on_exit
#define sv_push troupei_sv_push
#define sv_reinit_run troupei_sv_reinit_run
#define sv_report troupei_sv_report
#define sv_restart_group troupei_sv_restart_group
#define sv_restart_now troupei_sv_restart_now
#define sv_set_deadline troupei_sv_set_deadline
#define sv_shutdown_node troupei_sv_shutdown_node
#define sv_shutdown_root troupei_sv_shutdown_root
#define sv_stop_all troupei_sv_stop_all
#define sv_stop_child troupei_sv_stop_child
#define sv_stop_next troupei_sv_stop_next
#define sv_stop_thread troupei_sv_stop_thread
#define sv_supervised troupei_sv_supervised
#define sv_terminate troupei_sv_terminate
#define sys_calloc troupei_sys_calloc
#define sys_realloc troupei_sys_realloc
#define system_begin_shutdown troupei_system_begin_shutdown
#define table_alloc troupei_table_alloc
#define table_destroy troupei_table_destroy
#define table_free troupei_table_free
#define table_high troupei_table_high
#define table_init troupei_table_init
#define talloc troupei_talloc
#define talloc_aligned troupei_talloc_aligned
#define tcalloc troupei_tcalloc
#define tcalloc_aligned troupei_tcalloc_aligned
#define tfree troupei_tfree
#define tfree_aligned troupei_tfree_aligned
#define timer_add_fn troupei_timer_add_fn
#define timers_create troupei_timers_create
#define timers_destroy troupei_timers_destroy
#define timers_fire_due troupei_timers_fire_due
#define timers_stop troupei_timers_stop
#define tmsg_copy troupei_tmsg_copy
#define tmsg_destroy_slow troupei_tmsg_destroy_slow
#define tmsg_ptr troupei_tmsg_ptr
#define tmsg_view troupei_tmsg_view
#define topo_bind_self troupei_topo_bind_self
#define topo_cores troupei_topo_cores
#define topo_plan troupei_topo_plan
#define unmute_sender troupei_unmute_sender

#endif
