with

addresses as (

    select * from {{ ref('int_addresses_joined') }}

),

final as (

    select
        address_id,
        address_line_1,
        address_line_2,
        city,
        postal_code,
        state_province_id,
        state_province_code,
        state_province_name,
        country_code,
        country_name

    from addresses

)

select * from final
