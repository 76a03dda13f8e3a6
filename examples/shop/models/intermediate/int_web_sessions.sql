with events as (

    select * from {{ ref('stg_web_events') }}

),

first_touch as (

    -- landing page attributes of each session
    select session_id, page_path as landing_page, utm_source
    from events
    qualify row_number() over (partition by session_id order by event_at, event_id) = 1

),

session_stats as (

    select
        session_id,
        max(customer_id) as customer_id,
        min(event_at) as session_started_at,
        max(event_at) as session_ended_at,
        count(*) as event_count,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
        max(cart_value_cents) as checkout_value_cents,
        bool_or(event_type = 'checkout') as has_checkout
    from events
    group by session_id

)

select
    session_stats.*,
    first_touch.landing_page,
    coalesce(first_touch.utm_source, 'unknown') as utm_source,
    date_diff('second', session_started_at, session_ended_at) as duration_seconds
from session_stats
left join first_touch on session_stats.session_id = first_touch.session_id
