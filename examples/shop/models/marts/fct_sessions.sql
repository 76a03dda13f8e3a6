{{ config(materialized='view') }}

with sessions as (

    select * from {{ ref('int_web_sessions') }}

),

customers as (

    select customer_id, country_code, customer_segment
    from {{ ref('dim_customers') }}

)

select
    sessions.*,
    customers.country_code,
    coalesce(customers.customer_segment, 'anonymous') as customer_segment,
    case
        when sessions.has_checkout then 'converted'
        when sessions.add_to_carts > 0 then 'abandoned_cart'
        when sessions.page_views > 1 then 'browsed'
        else 'bounced'
    end as session_outcome
from sessions
left join customers on sessions.customer_id = customers.customer_id
